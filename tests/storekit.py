"""What tests of the services share: a store, a leader, and tickets opened as the monitor does.

Tickets are opened through the real `OutageRecorder.record`, in one transaction, so
that a test's ticket has the outage row, the `opened` event and the first pages the
service itself would have written.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sitewatch.clock import FakeClock
from sitewatch.cluster.leader import Leadership
from sitewatch.model import (
    CheckSpec,
    Classification,
    Outage,
    Page,
    ResultKind,
    State,
    Ticket,
    Transition,
    TransitionKind,
    Verdict,
)
from sitewatch.outages.quorum import Quorum
from sitewatch.outages.recorder import OutageRecorder, Recorded
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.paging.planner import Planner
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store
from tests.builders import make_check

LOCATION = "default"


def recorder(planner: Planner, *checks: CheckSpec) -> OutageRecorder:
    """Return a recorder of one location over these checks (by default `acme-portal`)."""
    specs = checks or (make_check("acme-portal"),)
    return OutageRecorder(
        {spec.id: spec for spec in specs},
        location=LOCATION,
        quorum=Quorum(),
        grace=timedelta(0),
        lease=timedelta(seconds=10),
        schedule=RecurringSchedule(()),
        planner=planner,
    )


async def leader(store: Store, clock: FakeClock, instance: str = "test-1") -> Leadership:
    """Return this test's leadership, the lease already taken."""
    leadership = Leadership(
        store=store,
        clock=clock,
        instance=instance,
        location=LOCATION,
        lease=timedelta(hours=1),
        metrics=Metrics(),
    )
    await leadership.renew()
    assert leadership.current() is not None
    return leadership


def emergency(onset: datetime, detail: str = "step 2: 401") -> Outage:
    """Return an emergency outage (a rejected logon) with this onset."""
    return Outage(onset, ResultKind.LOGIN_REJECTED, Classification.EMERGENCY, detail)


async def open_ticket(
    store: Store,
    planner: Planner,
    now: datetime,
    *,
    check: str = "acme-portal",
    customer: str = "acme",
    onset_ago: timedelta = timedelta(seconds=12),
    detail: str = "step 2: 401",
) -> Ticket:
    """Open a ticket and plan its first pages, as confirming an emergency does."""
    outage = emergency(now - onset_ago, detail)
    started = Transition(TransitionKind.STARTED, now, outage, "confirmed")
    recorded = await record(store, planner, check, customer, started, now)
    assert recorded.ticket is not None and recorded.opened
    return recorded.ticket


async def record(
    store: Store,
    planner: Planner,
    check: str,
    customer: str,
    transition: Transition,
    now: datetime,
) -> Recorded:
    """Record one transition of a check, with the verdict it leads to, in one transaction."""
    spec = make_check(check, customer=customer)
    outage = transition.outage
    verdict = (
        Verdict(State.UP, transition.at)
        if transition.kind is TransitionKind.ENDED
        else Verdict(State.DOWN, outage.onset, outage)
    )
    async with store.transaction() as tx:
        recorded = await recorder(planner, spec).record(tx, spec, transition, now)
        await tx.checks.save_verdicts({check: verdict})
    return recorded


async def pages(store: Store, ticket_id: str | None = None) -> list[Page]:
    """Return the outbox rows (of one ticket, or all), oldest first."""
    async with store.reading() as tx:
        return await tx.outbox.rows(ticket_id)


async def ticket_of(store: Store, ticket_id: str) -> Ticket:
    """Return a ticket that must exist, with its timeline."""
    async with store.reading() as tx:
        found = await tx.tickets.get(ticket_id)
    assert found is not None
    return found
