"""The paging rules as a named table: what each ticket change does to the outbox, and why.

`paging.rules` is pure: a ticket as committed in -> a `PagePlan` out (stop these
pending kinds, tell everyone paged with this notice, add these rows, call the
webhooks with this event). The services only apply plans; these rows are the
whole policy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest

from sitewatch.model import PageKind, Ticket, TicketState
from sitewatch.paging import rules
from sitewatch.paging.escalation import Level
from tests.paging_support import at, planner, ticket

ESCALATING = frozenset({PageKind.SITE_DOWN, PageKind.STILL_DOWN})


def acknowledged(of: Ticket) -> Ticket:
    return replace(of, state=TicketState.ACKNOWLEDGED, acknowledged_by="alice")


def resolved(of: Ticket) -> Ticket:
    return replace(of, state=TicketState.RESOLVED, resolved_by="bob")


@dataclass(frozen=True)
class Row:
    """One line of the table: a change of a ticket and the plan it must give."""

    change: Callable[[Ticket], rules.PagePlan]
    ticket: Ticket
    stop: frozenset[PageKind]
    notice: PageKind | None
    hook: PageKind | None
    reason: str


TABLE = [
    pytest.param(
        Row(
            rules.on_recovered,
            ticket(recovered=5),
            frozenset({PageKind.STILL_DOWN}),
            PageKind.RECOVERED,
            PageKind.TICKET_RECOVERED,
            "the site recovered",
        ),
        id="recovered: the repeats stop, the first SITE DOWN still goes, everyone paged told",
    ),
    pytest.param(
        Row(
            rules.on_recovered,
            resolved(ticket(recovered=5)),
            frozenset(),
            None,
            PageKind.TICKET_RECOVERED,
            "already resolved",
        ),
        id="recovered after resolution: no page, only the help desk hears",
    ),
    pytest.param(
        Row(
            rules.on_acknowledged,
            acknowledged(ticket()),
            ESCALATING,
            None,
            PageKind.TICKET_ACKNOWLEDGED,
            "acknowledged by alice",
        ),
        id="acknowledged: escalation stops, nobody else is woken",
    ),
    pytest.param(
        Row(
            rules.on_resolved,
            resolved(ticket()),
            ESCALATING,
            PageKind.RESOLVED,
            PageKind.TICKET_RESOLVED,
            "resolved by bob",
        ),
        id="resolved: escalation stops, everyone paged told",
    ),
]


@pytest.mark.parametrize("row", TABLE)
def test_each_ticket_change_gives_its_plan_with_a_reason(row: Row) -> None:
    plan = row.change(row.ticket)
    assert (plan.stop, plan.notice, plan.hook) == (row.stop, row.notice, row.hook)
    assert row.reason in plan.reason
    assert list(plan.add) == []


def test_opening_pages_every_level_already_due_and_calls_the_webhooks() -> None:
    late = ticket(opened=0)
    plan = rules.on_opened(planner(), late, at(0))
    assert [(r.kind, r.operator, r.level, r.round) for r in plan.add] == [
        (PageKind.SITE_DOWN, "alice", 0, 0)
    ]
    assert plan.hook is PageKind.TICKET_OPENED and not plan.stop
    assert "ticket opened" in plan.reason

    # Opened late (an overrun judged after a restart): every level already due is paged.
    plan = rules.on_opened(planner(), late, at(11))
    assert [(r.operator, r.level) for r in plan.add] == [("alice", 0), ("bob", 1)]


def test_a_level_that_reaches_nobody_goes_to_the_fallback_and_is_named() -> None:
    nobody = (Level(timedelta(0), ("ghost-schedule",)),)
    plan = rules.on_opened(
        planner(levels=nobody, fallback=["json://127.0.0.1:9/fallback"]), ticket(), at(0)
    )
    assert [(r.operator, r.kind) for r in plan.add] == [("", PageKind.SITE_DOWN)]
    assert [name.target for miss in plan.unreached for name in miss.names] == ["ghost-schedule"]


@pytest.mark.parametrize(
    ("kind", "state", "wanted"),
    [
        pytest.param(PageKind.SITE_DOWN, TicketState.OPEN, True, id="site down, open: retry"),
        pytest.param(
            PageKind.STILL_DOWN, TicketState.ACKNOWLEDGED, False, id="repeat, acked: drop"
        ),
        pytest.param(PageKind.SITE_DOWN, TicketState.RESOLVED, False, id="site down, resolved"),
        pytest.param(PageKind.RECOVERED, TicketState.RESOLVED, True, id="good news: always"),
        pytest.param(PageKind.RESOLVED, TicketState.RESOLVED, True, id="resolved notice"),
        pytest.param(
            PageKind.TICKET_OPENED, TicketState.RESOLVED, True, id="webhook: always delivered"
        ),
    ],
)
def test_a_failed_page_is_retried_only_while_it_still_asks_for_action(
    kind: PageKind, state: TicketState, wanted: bool
) -> None:
    assert rules.still_wanted(kind, replace(ticket(), state=state)) is wanted


def test_a_page_about_no_ticket_is_always_retried() -> None:
    assert rules.still_wanted(PageKind.PROBER_FAULT, None) is True
