"""What each role sees in the console and how its forms answer, without a browser.

The real app on a SQLite file under a FakeClock; acme's time zone is Europe/Berlin
(UTC+1 on the clock's 2026-11-26), so a time typed as 12:00 is 11:00 UTC.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from pytest_aiohttp import AiohttpClient

from tests.api_harness import Api
from tests.console_support import Browser, start_console
from tests.harness import CUSTOMER_TOKEN, OPERATOR_TOKEN

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
async def console(tmp_path: Path, aiohttp_client: AiohttpClient) -> Api:
    return await start_console(tmp_path, aiohttp_client, extra="limits:\n  windows: 3\n")


def local(api: Api, delta: timedelta) -> str:
    """Return what a person in Berlin types for now + delta."""
    return f"{(api.clock.now() + delta).astimezone(BERLIN):%Y-%m-%dT%H:%M}"


async def as_(api: Api, token: str) -> Browser:
    browser = Browser(api)
    await browser.log_on(token)
    return browser


# --- what a customer sees ---------------------------------------------------------------


async def test_a_customer_sees_its_own_checks_and_no_operator_name_or_note(console: Api) -> None:
    ticket = await console.ticket("portal", "acme")
    await console.ticket("webmail", "globex")
    await console.call("POST", f"/api/v1/tickets/{ticket.id}/ack", json={"note": "db lock, inner"})

    page = await (await as_(console, CUSTOMER_TOKEN)).get("/")

    assert 'data-check="portal"' in page.html and 'data-check="shop"' in page.html
    assert "webmail" not in page.text and "globex" not in page.text
    assert "acknowledged" in page.text  # that it is being handled ...
    assert "olivia" not in page.text and "db lock" not in page.text  # ... not by whom, nor how
    assert f'href="/tickets/{ticket.id}"' not in page.html


async def test_a_customer_is_refused_the_operators_pages(console: Api) -> None:
    ticket = await console.ticket()
    browser = await as_(console, CUSTOMER_TOKEN)

    for path in ("/tickets", f"/tickets/{ticket.id}", "/cluster"):
        answer = await browser.get(path)
        assert answer.status == 403 and "This page is for operators." in answer.text


async def test_times_are_shown_in_the_customers_zone_with_utc_beside(console: Api) -> None:
    browser = await as_(console, CUSTOMER_TOKEN)

    declared = await browser.submit(
        "/windows/new",
        "/windows",
        {"kind": "other", "start": "2026-11-26T12:00", "end": "2026-11-26T13:30"},
    )

    assert "2026-11-26 12:00 CET (2026-11-26 11:00 UTC)" in declared.text
    assert "2026-11-26 13:30 CET (2026-11-26 12:30 UTC)" in declared.text
    _, windows = await console.call("GET", "/api/v1/maintenance", "customer")
    assert windows["maintenance"][0]["start"] == "2026-11-26T11:00:00Z"


# --- the declaration form: every error at its field, what was typed kept -----------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"start": "2026-11-26T09:00", "end": "2026-11-26T14:00"}, "start", "is in the past"),
        ({"end": "2026-11-25T09:00"}, "end", "must be after start"),
        ({"end": "2026-11-28T09:00"}, "end", "at most 1d (maintenance_max)"),
        ({"end": "tomorrow"}, "end", "is not a date and time"),
        ({"end": ""}, "end", "end is required"),
        ({"end": "2026-11-26T14:00", "kind": "party"}, "kind", "choose a kind"),
        (
            {"end": "2026-11-26T14:00", "checks": "webmail"},
            "checks",
            "are not checks of customer acme",
        ),
        ({"end": "2026-11-26T14:00", "note": "x" * 2001}, "note", "longer than 2000"),
    ],
)
async def test_a_refused_declaration_shows_the_error_at_its_field_and_keeps_the_input(
    console: Api, fields: dict[str, str], field: str, message: str
) -> None:
    browser = await as_(console, CUSTOMER_TOKEN)
    typed = {"kind": "os-upgrade", "note": "kernel <6.12> & reboot"} | fields

    answer = await browser.submit("/windows/new", "/windows", typed)

    assert answer.status == 400
    assert message in answer.error_of(field)
    assert [f for f in ("kind", "checks", "start", "end", "note") if answer.error_of(f)] == [field]
    assert answer.value_of("note") == typed["note"]
    assert answer.value_of("end") == typed["end"]
    if field == "start":  # what could be read is shown in UTC beside the field
        assert "That is 2026-11-26 13:00 UTC." in answer.text
    _, listed = await console.call("GET", "/api/v1/maintenance", "customer")
    assert listed["maintenance"] == []


async def test_over_the_window_limit_the_form_says_so_with_429(console: Api) -> None:
    browser = await as_(console, CUSTOMER_TOKEN)
    for hour in (1, 2, 3):
        fields = {
            "kind": "other",
            "start": local(console, timedelta(hours=hour)),
            "end": local(console, timedelta(hours=hour, minutes=30)),
        }
        assert (await browser.submit("/windows/new", "/windows", fields)).status == 200

    answer = await browser.submit(
        "/windows/new", "/windows", {"kind": "other", "end": local(console, timedelta(hours=5))}
    )

    assert answer.status == 429
    assert "already has 3 windows that have not ended (limits.windows)" in answer.text
    assert answer.value_of("end") == local(console, timedelta(hours=5))


async def test_a_wall_time_that_daylight_saving_skips_is_refused_at_its_field(console: Api) -> None:
    browser = await as_(console, CUSTOMER_TOKEN)

    answer = await browser.submit(
        "/windows/new",
        "/windows",
        {"kind": "other", "start": "2027-03-28T02:30", "end": "2027-03-28T04:00"},
    )

    assert "does not exist in Europe/Berlin" in answer.error_of("start")


# --- a window's page ----------------------------------------------------------------------


async def test_an_active_window_cannot_be_cancelled_and_says_so_by_the_button(console: Api) -> None:
    browser = await as_(console, CUSTOMER_TOKEN)
    window = await console.window(
        start=console.clock.now(), end=console.clock.now() + timedelta(hours=1)
    )

    answer = await browser.submit(f"/windows/{window.id}", f"/windows/{window.id}/cancel", {})

    assert answer.status == 409
    assert "only a scheduled window can be cancelled" in answer.error_of("cancel")


async def test_an_unknown_window_is_a_404_page_and_another_customers_a_403(console: Api) -> None:
    theirs = await console.window(customer="globex")
    browser = await as_(console, CUSTOMER_TOKEN)

    assert (await browser.get("/windows/999")).status == 404
    refused = await browser.get(f"/windows/{theirs.id}")
    assert refused.status == 403 and "belongs to another customer" in refused.text
    changed = await browser.submit("/windows", f"/windows/{theirs.id}/end", {"extend": "1h"})
    assert changed.status == 403
    _, shown = await console.call("GET", f"/api/v1/maintenance/{theirs.id}")
    assert shown["end"] == theirs.end.isoformat().replace("+00:00", "Z")


async def test_an_operator_declares_for_a_customer_in_that_customers_zone(console: Api) -> None:
    browser = await as_(console, OPERATOR_TOKEN)

    answer = await browser.submit(
        "/windows/new?customer=acme",
        "/windows",
        {
            "customer": "acme",
            "kind": "other",
            "start": "2026-11-26T12:00",
            "end": "2026-11-26T13:00",
        },
    )

    assert answer.status == 200 and "2026-11-26 11:00 UTC" in answer.text
    assert "declared by operator:olivia" in answer.text


# --- tickets --------------------------------------------------------------------------------


async def test_resolving_without_a_cause_shows_it_at_the_field_and_keeps_the_note(
    console: Api,
) -> None:
    ticket = await console.ticket()
    browser = await as_(console, OPERATOR_TOKEN)
    page = f"/tickets/{ticket.id}"

    answer = await browser.submit(page, f"{page}/resolve", {"action": "resolve", "note": "switch"})

    assert answer.status == 400 and "choose a cause" in answer.error_of("cause")
    assert answer.value_of("resolve-note") == "switch"
    resolved = await browser.submit(
        page, f"{page}/resolve", {"action": "resolve", "cause": "network"}
    )
    assert resolved.status == 200 and "Resolved." in resolved.text
    again = await browser.post(
        f"{page}/resolve", {"action": "resolve", "cause": "network", "csrf": resolved.csrf()}
    )
    assert again.status == 409 and again.error_of("resolve")


async def test_an_unknown_ticket_is_a_404_page(console: Api) -> None:
    browser = await as_(console, OPERATOR_TOKEN)

    assert (await browser.get("/tickets/999")).status == 404
    answer = await browser.submit("/tickets", "/tickets/999/ack", {"action": "ack"})
    assert answer.status == 404 and "There is no ticket '999'." in answer.text


# --- hostile input and headers --------------------------------------------------------------


@pytest.mark.parametrize("note", ["\x00bell", "a\udcffb"])
async def test_a_form_with_control_characters_or_broken_text_gets_a_400_page(
    console: Api, note: str
) -> None:
    browser = await as_(console, CUSTOMER_TOKEN)
    shown = await browser.get("/windows/new")
    body = f"kind=other&end=2026-11-26T14:00&csrf={shown.csrf()}&note=".encode() + note.encode(
        "utf-8", "surrogatepass"
    )
    async with console.client.post(
        "/windows", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    ) as answer:
        assert answer.status == 400
        assert answer.content_type == "text/html"


async def test_a_form_over_the_body_limit_gets_a_413_page(console: Api) -> None:
    browser = await as_(console, CUSTOMER_TOKEN)

    answer = await browser.submit("/windows/new", "/windows", {"note": "x" * 70_000})

    assert answer.status == 413 and "too large" in answer.text


async def test_every_page_carries_a_strict_policy_and_its_stylesheet_is_served(
    console: Api,
) -> None:
    page = await Browser(console).get("/")
    policy = page.headers["Content-Security-Policy"]

    assert "script-src" not in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and "style-src 'self'" in policy
    assert "<script" not in page.html and "style=" not in page.html
    async with console.client.get("/static/console.css") as answer:
        assert answer.status == 200 and answer.content_type == "text/css"
