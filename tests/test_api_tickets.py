"""Tickets through the API: listing exactly the asked states, acknowledge, resolve, conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from sitewatch.model import Ticket
from tests.api_harness import Api
from tests.test_api_maintenance import UNKNOWN_IDS, assert_error


async def three_tickets(api: Api) -> dict[str, Ticket]:
    """Open three tickets and leave one open, one acknowledged and one resolved."""
    opened = await api.ticket("portal", onset_ago=300)
    acknowledged = await api.ticket("shop", onset_ago=200)
    resolved = await api.ticket("webmail", "globex", onset_ago=100)
    await api.call("POST", f"/api/v1/tickets/{acknowledged.id}/ack")
    await api.call("POST", f"/api/v1/tickets/{resolved.id}/resolve", json={"cause": "network"})
    return {"open": opened, "acknowledged": acknowledged, "resolved": resolved}


@pytest.mark.parametrize(
    ("query", "states"),
    [
        ("", ["resolved", "acknowledged", "open"]),
        ("?state=open", ["open"]),
        ("?state=acknowledged", ["acknowledged"]),
        ("?state=resolved", ["resolved"]),
        ("?state=open,acknowledged", ["acknowledged", "open"]),
        ("?state=acknowledged,open", ["acknowledged", "open"]),
        ("?state=open,resolved", ["resolved", "open"]),
        ("?state=open&state=resolved", ["resolved", "open"]),
        ("?state=open,,open", ["open"]),
        ("?state=%20open%20", ["open"]),
        ("?state=open,acknowledged,resolved", ["resolved", "acknowledged", "open"]),
    ],
)
async def test_tickets_are_filtered_to_exactly_the_listed_states_newest_first(
    api: Api, query: str, states: list[str]
) -> None:
    await three_tickets(api)
    status, listed = await api.call("GET", f"/api/v1/tickets{query}")
    assert status == 200
    assert [t["state"] for t in listed["tickets"]] == states
    assert all("events" not in t for t in listed["tickets"])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?state=OPEN", "state 'OPEN' is unknown; use one or more of open, acknowledged, resolved"),
        ("?state=open,closed", "state 'closed' is unknown"),
        ("?state=", "state lists no state"),
        ("?state=,", "state lists no state"),
        ("?limit=0", "limit must be a whole number from 1 to 1000"),
        ("?limit=%C2%B2", "limit must be a whole number"),
        ("?limit=1.5", "limit must be a whole number"),
    ],
)
async def test_a_bad_ticket_query_is_a_400(api: Api, query: str, message: str) -> None:
    status, answer = await api.call("GET", f"/api/v1/tickets{query}")
    assert status == 400
    assert_error(answer, message)


async def test_a_limit_keeps_the_newest_tickets(api: Api) -> None:
    tickets = await three_tickets(api)
    _, listed = await api.call("GET", "/api/v1/tickets?limit=2")
    assert [t["id"] for t in listed["tickets"]] == [
        tickets["resolved"].id,
        tickets["acknowledged"].id,
    ]


async def test_a_ticket_shows_every_contract_field_and_its_timeline(api: Api) -> None:
    ticket = await api.ticket()
    status, shown = await api.call("GET", f"/api/v1/tickets/{ticket.id}")
    assert status == 200
    assert shown["id"] == ticket.id and shown["state"] == "open"
    assert (shown["check"], shown["customer"], shown["classification"], shown["symptom"]) == (
        "portal",
        "acme",
        "emergency",
        "connect",
    )
    assert (shown["onset_at"], shown["opened_at"]) == (
        "2026-11-26T09:59:30Z",
        "2026-11-26T10:00:00Z",
    )
    for field in ("acknowledged_at", "acknowledged_by", "recovered_at", "resolved_at", "cause"):
        assert shown[field] is None
    assert [e["kind"] for e in shown["events"]] == ["opened"]


async def test_acknowledging_twice_answers_200_and_changes_nothing(api: Api) -> None:
    ticket = await api.ticket()
    path = f"/api/v1/tickets/{ticket.id}/ack"
    status, first = await api.call("POST", path, json={"note": "looking"})
    assert (status, first["state"], first["acknowledged_by"]) == (200, "acknowledged", "olivia")
    status, again = await api.call("POST", path, json={"note": "still looking"})
    assert (status, again) == (200, first)


async def test_acknowledging_a_resolved_ticket_is_a_409(api: Api) -> None:
    ticket = await api.ticket()
    await api.call("POST", f"/api/v1/tickets/{ticket.id}/resolve", json={"cause": "hardware"})
    status, answer = await api.call("POST", f"/api/v1/tickets/{ticket.id}/ack", json={})
    assert status == 409
    assert_error(answer, f"ticket {ticket.id} is already resolved")


async def test_resolving_records_the_cause_and_a_second_resolve_is_a_409(api: Api) -> None:
    ticket = await api.ticket()
    path = f"/api/v1/tickets/{ticket.id}/resolve"
    body = {"cause": "third-party", "note": "the payment provider was down"}
    status, resolved = await api.call("POST", path, json=body)
    assert status == 200
    assert (resolved["state"], resolved["cause"], resolved["resolved_by"]) == (
        "resolved",
        "third-party",
        "olivia",
    )
    assert resolved["resolution_note"] == "the payment provider was down"
    status, answer = await api.call("POST", path, json={"cause": "software"})
    assert status == 409
    assert_error(answer, "is already resolved")
    _, shown = await api.call("GET", f"/api/v1/tickets/{ticket.id}")
    assert shown["cause"] == "third-party"


@pytest.mark.parametrize(
    ("action", "body", "message"),
    [
        ("resolve", {}, "cause is required, one of hardware, internal-systems-management,"),
        ("resolve", {"cause": "gremlins"}, "cause is required, one of"),
        ("resolve", {"cause": None}, "cause is required"),
        ("resolve", {"cause": "network", "by": "bob"}, "unknown field(s) by"),
        ("resolve", {"cause": "network", "note": 3}, "note must be a string"),
        ("resolve", [], "the request body must be a JSON object"),
        ("ack", {"note": ["x"]}, "note must be a string"),
        ("ack", {"note": "x" * 2001}, "note is longer than 2000 characters"),
        ("ack", {"who": "bob"}, "unknown field(s) who; expected: note"),
        ("ack", "late", "the request body must be a JSON object"),
    ],
)
async def test_a_bad_ticket_action_is_a_400(api: Api, action: str, body: Any, message: str) -> None:
    ticket = await api.ticket()
    status, answer = await api.call("POST", f"/api/v1/tickets/{ticket.id}/{action}", json=body)
    assert status == 400
    assert_error(answer, message)
    _, shown = await api.call("GET", f"/api/v1/tickets/{ticket.id}")
    assert shown["state"] == "open"


async def test_malformed_json_on_a_ticket_action_is_a_400(api: Api) -> None:
    ticket = await api.ticket()
    status, answer = await api.call("POST", f"/api/v1/tickets/{ticket.id}/ack", data=b"{")
    assert status == 400
    assert_error(answer, "the request body is not valid JSON")


@pytest.mark.parametrize("ticket_id", UNKNOWN_IDS)
@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [("GET", "", None), ("POST", "/ack", {}), ("POST", "/resolve", {"cause": "unknown"})],
)
async def test_an_unknown_ticket_id_of_any_form_is_a_404(
    api: Api, ticket_id: str, method: str, suffix: str, body: dict[str, str] | None
) -> None:
    await api.ticket()
    status, answer = await api.call(method, f"/api/v1/tickets/{ticket_id}{suffix}", json=body)
    assert status == 404
    assert_error(answer, "no ticket")
