"""Who may call what: every route x every kind of caller, as one named table.

The contract: a missing or unknown token is 401; a customer acting on another
customer's data, or on an operator-only route, is 403; the owner and operators get
their answer. "customer" is acme, "other customer" is globex; every id below
belongs to acme.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sitewatch.api.openapi import DOCUMENT
from tests.api_harness import TOKENS, Api

CALLERS = tuple(TOKENS)  # nobody, unknown, customer, other customer, operator

PUBLIC = (200, 200, 200, 200, 200)
ANY_TOKEN = (401, 401, 200, 200, 200)
OWNER = (401, 401, 200, 403, 200)
OPERATORS = (401, 401, 403, 403, 200)

MATRIX: dict[str, tuple[int, ...]] = {
    #                                            nobody unknown customer other operator
    "GET /healthz": PUBLIC,
    "GET /metrics": PUBLIC,
    "GET /api/v1/openapi.json": PUBLIC,
    "GET /api/v1/checks": ANY_TOKEN,
    "POST /api/v1/maintenance": (401, 401, 201, 403, 201),
    "GET /api/v1/maintenance": ANY_TOKEN,
    "GET /api/v1/maintenance/{window}": OWNER,
    "PATCH /api/v1/maintenance/{window}": OWNER,
    "DELETE /api/v1/maintenance/{window}": (401, 401, 204, 403, 204),
    "GET /api/v1/tickets": OPERATORS,
    "GET /api/v1/tickets/{ticket}": OPERATORS,
    "POST /api/v1/tickets/{ticket}/ack": OPERATORS,
    "POST /api/v1/tickets/{ticket}/resolve": OPERATORS,
    "GET /api/v1/stats": OPERATORS,
    "GET /api/v1/cluster": OPERATORS,
}


def body_for(route: str, api: Api) -> dict[str, Any] | None:
    """Return a valid body for the route, so only the caller decides the answer."""
    end = (api.clock.now() + timedelta(hours=3)).isoformat()
    return {
        "POST /api/v1/maintenance": {"customer": "acme", "kind": "os-upgrade", "end": end},
        "PATCH /api/v1/maintenance/{window}": {"end": end},
        "POST /api/v1/tickets/{ticket}/ack": {"note": "on it"},
        "POST /api/v1/tickets/{ticket}/resolve": {"cause": "software"},
    }.get(route)


@pytest.mark.parametrize("route", list(MATRIX))
@pytest.mark.parametrize("who", CALLERS)
async def test_every_route_answers_each_kind_of_caller_as_the_contract_says(
    api: Api, route: str, who: str
) -> None:
    window, ticket = await api.window(), await api.ticket()
    method, path = route.split(" ")
    path = path.format(window=window.id, ticket=ticket.id)
    status, answer = await api.call(method, path, who, json=body_for(route, api))
    assert status == MATRIX[route][CALLERS.index(who)], answer
    if status in (401, 403):
        assert answer["error"]


def test_the_matrix_names_every_api_route_of_the_openapi_document() -> None:
    documented = {
        f"{method.upper()} {path}".replace("{window_id}", "{window}").replace(
            "{ticket_id}", "{ticket}"
        )
        for path, operations in DOCUMENT["paths"].items()
        for method in operations
    }
    assert documented <= set(MATRIX)


async def test_a_customer_sees_only_its_own_checks_and_windows(api: Api) -> None:
    await api.window(customer="acme")
    await api.window(customer="globex")
    _, checks = await api.call("GET", "/api/v1/checks", "customer")
    assert {c["customer"] for c in checks["checks"]} == {"acme"}
    assert {c["id"] for c in checks["checks"]} == {"portal", "shop"}
    _, windows = await api.call("GET", "/api/v1/maintenance", "other customer")
    assert [w["customer"] for w in windows["maintenance"]] == ["globex"]
    _, everything = await api.call("GET", "/api/v1/maintenance", "operator")
    assert {w["customer"] for w in everything["maintenance"]} == {"acme", "globex"}


async def test_the_token_is_checked_before_the_body_is_read(api: Api) -> None:
    status, answer = await api.call("POST", "/api/v1/maintenance", "unknown", data=b"{not json")
    assert (status, answer) == (401, {"error": "missing or unknown bearer token"})


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic b3BlcmF0b3I6eA==",
        "bearer not-a-token-anyone-has",
        "Token operator-token-for-tests",
    ],
)
async def test_a_malformed_or_foreign_authorization_header_is_401(api: Api, header: str) -> None:
    async with api.client.get("/api/v1/checks", headers={"Authorization": header}) as response:
        assert response.status == 401
        assert (await response.json())["error"] == "missing or unknown bearer token"


async def test_the_bearer_scheme_is_case_insensitive_as_http_says(api: Api) -> None:
    headers = {"Authorization": f"bearer {TOKENS['operator']}"}
    async with api.client.get("/api/v1/tickets", headers=headers) as response:
        assert response.status == 200


async def test_an_acknowledgement_is_recorded_as_the_tokens_operator(api: Api) -> None:
    ticket = await api.ticket()
    _, acked = await api.call("POST", f"/api/v1/tickets/{ticket.id}/ack", json={})
    assert acked["acknowledged_by"] == "olivia"
    assert acked["events"][-1]["by"] == "olivia"


async def test_the_audit_trail_names_the_principal_of_every_change(api: Api) -> None:
    window = await api.window()
    later = (window.end + timedelta(minutes=5)).isoformat()
    path = f"/api/v1/maintenance/{window.id}"
    assert (await api.call("PATCH", path, "customer", json={"end": later}))[0] == 200
    assert (await api.call("PATCH", path, "operator", json={"end": later}))[0] == 200
    _, shown = await api.call("GET", path, "customer")
    assert [(h["by"], h["action"]) for h in shown["history"]] == [
        ("customer:acme", "declared"),
        ("customer:acme", "changed"),
        ("operator:olivia", "changed"),
    ]
