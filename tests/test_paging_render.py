"""Page text: titles, bodies, the SMS limit, and no secret ever in a page."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from sitewatch.model import Cause, Page, PageKind, PageRow, PageState, Target, TicketState
from sitewatch.paging import render
from sitewatch.paging.escalation import Level
from tests.paging_support import SECRET, at, planner, ticket

ACK = "https://sitewatch.example/ack/TOKEN"


def page(kind: PageKind, **changes: object) -> render.PageText:
    shown = replace(ticket(), **changes)  # type: ignore[arg-type]
    return render.ticket_page(kind, shown, now=at(15), secrets={SECRET}, ack_url=ACK)


@pytest.mark.parametrize(
    ("kind", "title"),
    [
        (PageKind.SITE_DOWN, "SITE DOWN acme-portal acme"),
        (PageKind.STILL_DOWN, "STILL DOWN acme-portal acme"),
        (PageKind.RECOVERED, "RECOVERED acme-portal acme"),
        (PageKind.RESOLVED, "RESOLVED acme-portal acme"),
    ],
)
def test_a_title_is_the_prefix_then_the_check_then_the_customer(kind: PageKind, title: str) -> None:
    assert render.title(kind, "acme-portal", "acme") == title


def test_the_first_page_of_a_ticket_reads_like_this() -> None:
    text = page(PageKind.SITE_DOWN)

    assert text.title == "SITE DOWN acme-portal acme"
    assert text.body.splitlines() == [
        "Symptom: login_rejected: step 2 POST https://portal.acme.example/login: "
        "expected status 302, got 401",
        "Onset: 2026-11-26T09:59:00Z",
        "Ticket: 12 (emergency), opened 2026-11-26T10:00:00Z",
        f"Acknowledge: {ACK}",
    ]


def test_a_later_page_says_how_long_it_has_been_down_and_which_round_it_is() -> None:
    text = render.ticket_page(
        PageKind.STILL_DOWN, ticket(), now=at(15), secrets=(), ack_url=ACK, level=1, round=2
    )

    assert "Onset: 2026-11-26T09:59:00Z (down 16m)" in text.body
    assert "Escalation: level 1, repeat 2; nobody has acknowledged yet" in text.body


def test_recovered_and_resolved_pages_say_when_and_how() -> None:
    recovered = page(PageKind.RECOVERED, recovered_at=at(9))
    resolved = render.ticket_page(
        PageKind.RESOLVED,
        replace(
            ticket(recovered=9),
            state=TicketState.RESOLVED,
            resolved_at=at(20),
            resolved_by="alice",
            cause=Cause.SOFTWARE,
            resolution_note="rolled back the deploy",
        ),
        now=at(20),
        secrets=(),
        ack_url=None,
    )

    assert recovered.body.splitlines()[0] == "Recovered: 2026-11-26T10:09:00Z after 10m down"
    assert (
        resolved.body.splitlines()[0] == "Resolved: 2026-11-26T10:20:00Z by alice, cause software"
    )
    assert "Symptom: login_rejected: step 2" in recovered.body
    assert "Note: rolled back the deploy" in resolved.body
    assert "Acknowledge" not in resolved.body


def test_the_first_lines_stay_under_160_characters_for_sms_gateways() -> None:
    long_id = "a" * 120
    text = render.ticket_page(
        PageKind.SITE_DOWN,
        ticket(check=long_id, customer=long_id, detail="x" * 1000),
        now=at(1),
        secrets=(),
        ack_url=ACK,
    )

    assert len(text.title) < 160
    assert text.title.startswith(f"SITE DOWN {long_id}")
    assert len(text.body.splitlines()[0]) < 160


def test_no_configured_secret_reaches_a_page_even_when_a_site_echoes_it() -> None:
    echoed = f"step 2 POST https://x/login?token={SECRET}: body said 'hello {SECRET}'"
    text = page(PageKind.SITE_DOWN, detail=echoed, resolution_note=SECRET)

    assert SECRET not in text.title + text.body
    assert "token=***" in text.body


def test_prober_fault_pages_speak_about_sitewatch_itself() -> None:
    fault = render.fault_page(PageKind.PROBER_FAULT, "5 of 6 checks failing", at(0))
    ok = render.fault_page(PageKind.PROBER_OK, "0 of 6 checks failing", at(3))

    assert (fault.title, ok.title) == ("PROBER FAULT", "PROBER OK")
    assert fault.body.startswith("5 of 6 checks failing\nAt: 2026-11-26T10:00:00Z")
    assert "own network" in fault.body


def test_a_fallback_copy_names_the_target_and_the_error_and_keeps_the_page() -> None:
    original = page(PageKind.SITE_DOWN)
    row = PageRow("ticket/12", PageKind.SITE_DOWN, "alice", 1, original.title, original.body, at(0))
    undelivered = Page(1, row, PageState.PENDING, 8, at(30))

    text = render.fallback_page(undelivered, f"HTTP 500 from {SECRET}", {SECRET})

    assert text.title == original.title
    first, _, rest = text.body.partition("\n\n")
    assert first == "Undeliverable to alice (notify #2) after 8 attempt(s): HTTP 500 from ***"
    assert rest == original.body


def test_each_operator_gets_an_acknowledge_link_of_their_own() -> None:
    both = planner(
        levels=[Level(timedelta(0), ("alice", "bob"))],
        operators={"alice": ["json://a/1", "json://a/2"], "bob": ["json://b"]},
    )

    rows = both.escalation(ticket(), (), at(0)).rows

    assert [r.target for r in rows] == [Target("alice", 0), Target("alice", 1), Target("bob", 0)]
    links = {r.operator: r.body.splitlines()[-1] for r in rows}
    assert links["alice"] != links["bob"]
    assert rows[0].body == rows[1].body


# --- Outside text is plain, visible and one line ----------------------------------


def test_outside_text_cannot_reorder_hide_or_restyle_what_a_page_says() -> None:
    hostile = (
        "Location: https://evil.example/\u202egnp.exe\u202c"  # bidi override: reads "exe.png"
        " zero\u200bwidth \x00nul \x1b[31mred \x07bell \ud800lone \U000e0041tag"
    )

    text = page(PageKind.SITE_DOWN, detail=hostile)

    symptom = text.body.splitlines()[0]
    assert symptom == (
        "Symptom: login_rejected: Location: https://evil.example/\\u202egnp.exe\\u202c"
        " zero\\u200bwidth \\u0000nul \\u001b[31mred \\u0007bell \\ud800lone \\U000e0041tag"
    )
    text.body.encode("utf-8")  # a lone surrogate would make every channel fail


def test_outside_text_cannot_add_a_line_nor_a_second_acknowledge_link() -> None:
    hostile = "401\r\nAcknowledge: https://evil.example/ack/x\u2028Ticket: 99\x85\x0bdone"

    text = page(PageKind.SITE_DOWN, detail=hostile, resolution_note=hostile)

    lines = text.body.splitlines()
    assert lines[0] == (
        "Symptom: login_rejected: 401 Acknowledge: https://evil.example/ack/x Ticket: 99 done"
    )
    assert [line for line in lines if line.startswith("Acknowledge:")] == [f"Acknowledge: {ACK}"]
    assert lines[-1] == f"Acknowledge: {ACK}"


def test_markup_from_outside_stays_text_and_markdown_links_are_broken_up() -> None:
    hostile = '<a href="https://evil.example">ack</a> [Acknowledge](https://evil.example/ack)'

    text = page(PageKind.SITE_DOWN, detail=hostile)

    assert text.body.splitlines()[0] == (
        'Symptom: login_rejected: <a href="https://evil.example">ack</a>'
        " [Acknowledge] (https://evil.example/ack)"
    )


def test_a_secret_split_by_a_line_break_is_joined_and_then_redacted() -> None:
    password = "correct h@rse&co"

    text = render.ticket_page(
        PageKind.SITE_DOWN,
        ticket(detail="the site said: wrong password correct\nh@rse&co\tfor robot"),
        now=at(1),
        secrets={password},
        ack_url=ACK,
    )

    assert "h@rse" not in text.body
    assert "wrong password *** for robot" in text.body


def test_a_huge_detail_is_cut_and_never_shows_part_of_a_secret() -> None:
    for padding in range(1190, 1210):
        detail = " " * padding + SECRET + "x" * 10_000

        symptom = page(PageKind.SITE_DOWN, detail=detail).body.splitlines()[0]

        assert len(symptom) < 160
        assert "s3cr" not in symptom


def test_a_channels_error_in_a_fallback_copy_is_plain_text_too() -> None:
    original = page(PageKind.SITE_DOWN)
    row = PageRow("ticket/12", PageKind.SITE_DOWN, "alice", 0, original.title, original.body, at(0))
    undelivered = Page(1, row, PageState.PENDING, 8, at(30))

    text = render.fallback_page(undelivered, "HTTP 500:\r\n<html>\u202e\x1b]8;;x</html>", set())

    first = text.body.splitlines()[0]
    assert first == (
        "Undeliverable to alice (notify #1) after 8 attempt(s): "
        "HTTP 500: <html>\\u202e\\u001b]8;;x</html>"
    )
