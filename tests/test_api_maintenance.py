"""Maintenance windows through the API: what is accepted, and every way to get it wrong.

Time stands still at the FakeClock's now (2026-11-26T10:00:00Z) unless a test says
otherwise; acme owns the checks portal and shop, globex owns webmail.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.api_harness import Api

NOW = datetime.fromisoformat("2026-11-26T10:00:00+00:00")


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def later(**delta: float) -> str:
    return iso(NOW + timedelta(**delta))


def declaration(**fields: Any) -> dict[str, Any]:
    return {"customer": "acme", "kind": "software-upgrade", "end": later(hours=2)} | fields


async def declare(api: Api, body: Any, who: str = "customer") -> tuple[int, Any]:
    return await api.call("POST", "/api/v1/maintenance", who, json=body)


def assert_error(answer: Any, *fragments: str) -> None:
    assert isinstance(answer, dict) and set(answer) == {"error"}, answer
    for fragment in fragments:
        assert fragment in answer["error"], answer


async def test_a_window_without_start_starts_now_and_is_active(api: Api) -> None:
    status, window = await declare(api, declaration(note="v2.4 rollout"))
    assert status == 201
    assert window == {
        "id": window["id"],
        "customer": "acme",
        "checks": [],
        "kind": "software-upgrade",
        "start": "2026-11-26T10:00:00Z",
        "end": "2026-11-26T12:00:00Z",
        "note": "v2.4 rollout",
        "state": "active",
        "declared_at": "2026-11-26T10:00:00Z",
        "declared_by": "customer:acme",
        "cancelled_at": None,
    }
    assert window["id"].isdigit()


async def test_a_future_window_is_scheduled_and_names_only_its_checks(api: Api) -> None:
    body = declaration(start=later(hours=1), end=later(hours=3), checks=["portal", "portal"])
    status, window = await declare(api, body, who="operator")
    assert status == 201
    assert (window["state"], window["checks"], window["declared_by"]) == (
        "scheduled",
        ["portal"],
        "operator:olivia",
    )


@pytest.mark.parametrize("seconds_ago", [1, 30, 60])
async def test_a_start_up_to_60_seconds_in_the_past_counts_as_now(
    api: Api, seconds_ago: int
) -> None:
    status, window = await declare(api, declaration(start=later(seconds=-seconds_ago)))
    assert status == 201
    assert (window["start"], window["state"]) == ("2026-11-26T10:00:00Z", "active")


async def test_a_start_more_than_60_seconds_in_the_past_is_refused(api: Api) -> None:
    status, answer = await declare(api, declaration(start=later(seconds=-61)))
    assert status == 400
    assert_error(answer, "start 2026-11-26T09:58:59Z is in the past", "declared before")


async def test_times_with_another_offset_mean_the_same_instant(api: Api) -> None:
    body = declaration(start="2026-11-26T12:00:00+01:00", end="2026-11-26T13:30:00+01:00")
    status, window = await declare(api, body)
    assert status == 201
    assert (window["start"], window["end"]) == ("2026-11-26T11:00:00Z", "2026-11-26T12:30:00Z")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"end": later(hours=-1)}, "must be after start"),
        ({"start": later(hours=2), "end": later(hours=1)}, "must be after start"),
        ({"start": later(hours=1), "end": later(hours=1)}, "must be after start"),
        ({"end": later(hours=24, seconds=1)}, "at most 1d (maintenance_max); this one lasts 1d1s"),
        ({"start": later(days=3), "end": later(days=4, minutes=1)}, "at most 1d"),
        ({"kind": "party"}, "kind 'party' is not a kind: use one of server-install,"),
        ({"kind": None}, "kind is required"),
        ({"kind": ["other"]}, "is not a kind"),
        ({"checks": ["nope"]}, "checks nope are not checks of customer acme"),
        ({"checks": ["webmail"]}, "checks webmail are not checks of customer acme"),
        ({"checks": "portal"}, "checks must be a list of check ids"),
        ({"checks": {}}, "checks must be a list of check ids"),
        ({"checks": ""}, "checks must be a list of check ids"),
        ({"checks": False}, "checks must be a list of check ids"),
        ({"checks": [1]}, "checks must be a list of check ids"),
        ({"end": "2026-11-26T12:00:00"}, "end: '2026-11-26T12:00:00' has no offset"),
        ({"start": "2026-11-26T11:00:00"}, "start: '2026-11-26T11:00:00' has no offset"),
        ({"end": "2026-11-26"}, "has no offset"),
        ({"end": "tomorrow"}, "end: 'tomorrow' is not an ISO 8601 time"),
        ({"end": 1790000000}, "end must be an ISO 8601 time string"),
        ({"end": None}, "end is required"),
        ({"colour": "red"}, "unknown field(s) colour; expected: checks, customer, end, kind"),
        ({"note": 7}, "note must be a string"),
        ({"note": "x" * 2001}, "note is longer than 2000 characters"),
        ({"customer": None}, "customer is required"),
        ({"customer": ""}, "customer is required"),
    ],
)
async def test_a_bad_declaration_is_a_400_saying_what_is_wrong(
    api: Api, fields: dict[str, Any], message: str
) -> None:
    status, answer = await declare(api, declaration(**fields), who="operator")
    assert status == 400
    assert_error(answer, message)


async def test_a_window_of_exactly_maintenance_max_is_accepted(api: Api) -> None:
    status, window = await declare(api, declaration(end=later(hours=24)))
    assert (status, window["end"]) == (201, "2026-11-27T10:00:00Z")


async def test_an_operator_declaring_for_an_unconfigured_customer_gets_400(api: Api) -> None:
    status, answer = await declare(api, declaration(customer="initech"), who="operator")
    assert status == 400
    assert_error(answer, "customer 'initech' is not configured")


async def test_a_customer_declaring_for_another_customer_gets_403(api: Api) -> None:
    status, answer = await declare(api, declaration(customer="globex"))
    assert status == 403
    assert_error(answer, "a token of customer acme cannot declare windows for globex")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", "the request body is not valid JSON"),
        (b'{"customer": "acme",}', "the request body is not valid JSON"),
        (b"\xff\xfe", "the request body is not valid JSON"),
        (b"", "the request body must be a JSON object"),
        (b"[]", "the request body must be a JSON object"),
        (b'"acme"', "the request body must be a JSON object"),
        (b"42", "the request body must be a JSON object"),
        (b"null", "the request body must be a JSON object"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_a_400(
    api: Api, raw: bytes, message: str
) -> None:
    headers = {"Content-Type": "application/json"}
    status, answer = await api.call("POST", "/api/v1/maintenance", data=raw, headers=headers)
    assert status == 400
    assert_error(answer, message)


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_an_oversized_body_is_a_413_with_a_json_error(api: Api, method: str) -> None:
    window = await api.window()
    path = "/api/v1/maintenance" if method == "POST" else f"/api/v1/maintenance/{window.id}"
    big = declaration(note="x" * (65 * 1024))
    status, answer = await api.call(method, path, "customer", json=big)
    assert status == 413
    assert_error(answer, "request body is too large")


async def test_extending_a_window_moves_its_end_and_audits_it(api: Api) -> None:
    _, window = await declare(api, declaration())
    path = f"/api/v1/maintenance/{window['id']}"
    status, changed = await api.call("PATCH", path, "customer", json={"end": later(hours=5)})
    assert (status, changed["end"], changed["state"]) == (200, "2026-11-26T15:00:00Z", "active")
    _, shown = await api.call("GET", path, "customer")
    assert shown["history"][-1] == {
        "at": "2026-11-26T10:00:00Z",
        "by": "customer:acme",
        "action": "changed",
        "detail": "end 2026-11-26T12:00:00Z -> 2026-11-26T15:00:00Z",
    }


async def test_ending_a_window_now_with_a_slightly_past_end_ends_it(api: Api) -> None:
    window = await api.window(
        start=NOW - timedelta(hours=1),
        end=NOW + timedelta(hours=1),
        declared_at=NOW - timedelta(days=1),
    )
    path = f"/api/v1/maintenance/{window.id}"
    status, ended = await api.call("PATCH", path, "customer", json={"end": later(seconds=-20)})
    assert (status, ended["end"], ended["state"]) == (200, "2026-11-26T10:00:00Z", "ended")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"end": later(hours=24, seconds=1)}, "at most 1d (maintenance_max)"),
        ({"end": later(minutes=-5)}, "is in the past; to end it now, send now"),
        ({}, "end is required"),
        ({"end": None}, "end is required"),
        ({"end": "soon"}, "is not an ISO 8601 time"),
        ({"end": later(hours=3), "start": later(hours=1)}, "unknown field(s) start"),
    ],
)
async def test_a_bad_change_is_a_400(api: Api, body: dict[str, Any], message: str) -> None:
    _, window = await declare(api, declaration())
    path = f"/api/v1/maintenance/{window['id']}"
    status, answer = await api.call("PATCH", path, "customer", json=body)
    assert status == 400
    assert_error(answer, message)


async def test_an_ended_or_cancelled_window_can_no_longer_change(api: Api) -> None:
    ended = await api.window(start=NOW - timedelta(hours=2), end=NOW - timedelta(hours=1))
    status, answer = await api.call(
        "PATCH", f"/api/v1/maintenance/{ended.id}", "customer", json={"end": later(hours=1)}
    )
    assert status == 409
    assert_error(answer, f"window {ended.id} is ended; it can no longer change")
    scheduled = await api.window()
    path = f"/api/v1/maintenance/{scheduled.id}"
    assert (await api.call("DELETE", path, "customer"))[0] == 204
    status, answer = await api.call("PATCH", path, "customer", json={"end": later(hours=3)})
    assert status == 409
    assert_error(answer, "is cancelled")


async def test_cancelling_a_scheduled_window_keeps_it_listed_as_cancelled(api: Api) -> None:
    scheduled = await api.window()
    path = f"/api/v1/maintenance/{scheduled.id}"
    status, nothing = await api.call("DELETE", path, "customer")
    assert (status, nothing) == (204, None)
    _, listed = await api.call("GET", "/api/v1/maintenance", "customer")
    assert [(w["id"], w["state"]) for w in listed["maintenance"]] == [(scheduled.id, "cancelled")]
    assert listed["maintenance"][0]["cancelled_at"] == "2026-11-26T10:00:00Z"
    status, answer = await api.call("DELETE", path, "customer")
    assert status == 409
    assert_error(answer, "is cancelled; only a scheduled window can be cancelled")


async def test_an_active_or_ended_window_cannot_be_cancelled(api: Api) -> None:
    _, active = await declare(api, declaration())
    status, answer = await api.call("DELETE", f"/api/v1/maintenance/{active['id']}", "customer")
    assert status == 409
    assert_error(answer, "is active; only a scheduled window", "(end it early with PATCH instead)")
    ended = await api.window(start=NOW - timedelta(hours=2), end=NOW - timedelta(hours=1))
    status, answer = await api.call("DELETE", f"/api/v1/maintenance/{ended.id}", "operator")
    assert status == 409
    assert_error(answer, "is ended")


UNKNOWN_IDS = [
    "999",
    "0",
    "-1",
    "007",
    "1e3",
    "abc",
    "99999999999999999999",
    "%20",
    "cfg-00000000-20261129T010000Z",
]


@pytest.mark.parametrize("window_id", UNKNOWN_IDS)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_an_unknown_window_id_of_any_form_is_a_404(
    api: Api, method: str, window_id: str
) -> None:
    await api.window()
    body = {"end": later(hours=1)} if method == "PATCH" else None
    status, answer = await api.call(method, f"/api/v1/maintenance/{window_id}", json=body)
    assert status == 404
    assert_error(answer, "no maintenance window")


async def test_windows_list_latest_start_first_filtered_by_state_and_limited(api: Api) -> None:
    past = await api.window(start=NOW - timedelta(hours=3), end=NOW - timedelta(hours=2))
    _, active = await declare(api, declaration())
    future = await api.window(start=NOW + timedelta(days=1), end=NOW + timedelta(days=1, hours=1))
    _, listed = await api.call("GET", "/api/v1/maintenance", "customer")
    assert [w["id"] for w in listed["maintenance"]] == [future.id, active["id"], past.id]
    _, only = await api.call("GET", "/api/v1/maintenance?state=ended", "customer")
    assert [w["id"] for w in only["maintenance"]] == [past.id]
    _, two = await api.call("GET", "/api/v1/maintenance?limit=2", "customer")
    assert [w["id"] for w in two["maintenance"]] == [future.id, active["id"]]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("state=over", "state must be one of scheduled, active, ended, cancelled"),
        ("limit=0", "limit must be a whole number from 1 to 1000, got '0'"),
        ("limit=1001", "limit must be a whole number from 1 to 1000"),
        ("limit=-1", "limit must be a whole number"),
        ("limit=ten", "limit must be a whole number"),
        ("limit=%C2%B2", "limit must be a whole number"),
        ("limit=" + "1" * 5000, "limit must be a whole number"),
    ],
)
async def test_a_bad_list_query_is_a_400(api: Api, query: str, message: str) -> None:
    status, answer = await api.call("GET", f"/api/v1/maintenance?{query}", "customer")
    assert status == 400
    assert_error(answer, message)


async def test_unknown_routes_and_methods_answer_json_errors(api: Api) -> None:
    status, answer = await api.call("GET", "/api/v1/nothing-here")
    assert status == 404
    assert_error(answer)
    status, answer = await api.call("PUT", "/api/v1/maintenance")
    assert status == 405
    assert_error(answer)
