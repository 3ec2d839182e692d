"""Judging checks and recording what the judgement decided, inside the caller's transaction.

The results batch, the leader's tick and a cleared prober fault all come here: read
the checks' verdicts (locked), every live location's status, the faults and the
covering windows; let `outages.quorum` decide; write the verdicts, the outage rows,
the tickets and their first pages through the same transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sitewatch.model import (
    CheckSpec,
    Classification,
    Ticket,
    Transition,
    TransitionKind,
    Verdict,
    Window,
)
from sitewatch.outages import quorum as verdicts
from sitewatch.outages.quorum import Quorum, VerdictDecision, Vote
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.paging import rules as paging
from sitewatch.paging.planner import Planner, Unreached
from sitewatch.paging.plans import apply_plan
from sitewatch.storage import Tx
from sitewatch.tickets import rules as tickets


@dataclass(frozen=True, slots=True)
class Recorded:
    """One transition committed with the check's verdict, for logs and metrics."""

    spec: CheckSpec
    transition: Transition
    ticket: Ticket | None = None
    opened: bool = False
    unreached: Sequence[Unreached] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Judged:
    """What a judgement changed: the new verdicts and the transitions recorded."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    recorded: list[Recorded] = field(default_factory=list)


class OutageRecorder:
    """Judge checks from every location and record the outcome, in a given transaction."""

    def __init__(
        self,
        specs: Mapping[str, CheckSpec],
        *,
        location: str,
        quorum: Quorum,
        grace: timedelta,
        lease: timedelta,
        schedule: RecurringSchedule,
        planner: Planner,
    ) -> None:
        self._specs = specs
        self._location = location
        self._quorum = quorum
        self._grace = grace
        self._lease = lease
        self._schedule = schedule
        self._planner = planner

    async def judge(
        self,
        tx: Tx,
        check_ids: Collection[str],
        *,
        now: datetime,
        at: Mapping[str, datetime] | None = None,
        tick: bool = False,
    ) -> Judged:
        """Judge these checks again (after a location changed at `at[check]`, or time passed)."""
        ids = sorted(check for check in check_ids if check in self._specs)
        judged = Judged()
        if not ids:
            return judged
        before = await tx.checks.lock_verdicts(ids)
        votes = await self._votes(tx, ids, now)
        windows = await self._windows(tx, ids, before, votes, now)
        for check in ids:
            spec, verdict = self._specs[check], before.get(check, Verdict())
            decision = self._decide(
                verdict, votes[check], windows[check], at=(at or {}).get(check, now), tick=tick
            )
            if decision.verdict != verdict:
                judged.verdicts[check] = decision.verdict
            for transition in decision.transitions:
                judged.recorded.append(await self.record(tx, spec, transition, now))
        if judged.verdicts:
            await tx.checks.save_verdicts(judged.verdicts)
        return judged

    def _decide(
        self,
        verdict: Verdict,
        votes: Sequence[Vote],
        windows: Sequence[Window],
        *,
        at: datetime,
        tick: bool,
    ) -> VerdictDecision:
        if tick:
            return verdicts.tick(
                verdict, votes, quorum=self._quorum, windows=windows, grace=self._grace, now=at
            )
        return verdicts.judge(
            verdict, votes, quorum=self._quorum, windows=windows, grace=self._grace, at=at
        )

    async def _votes(self, tx: Tx, ids: list[str], now: datetime) -> dict[str, list[Vote]]:
        statuses = await tx.checks.location_statuses(ids)
        live = {member.location for member in await tx.cluster.members(now, self._lease)}
        live.add(self._location)
        faults = await tx.cluster.faults()
        return {
            check: [
                Vote(location, status, faulted=location in faults)
                for location, status in sorted(statuses.get(check, {}).items())
                if location in live
            ]
            for check in ids
        }

    async def _windows(
        self,
        tx: Tx,
        ids: list[str],
        before: Mapping[str, Verdict],
        votes: Mapping[str, list[Vote]],
        now: datetime,
    ) -> dict[str, list[Window]]:
        """Return, per check, the windows that cover it and could matter to its judgement."""
        onsets = [
            vote.status.down.onset for check in ids for vote in votes[check] if vote.status.down
        ]
        since = min([now, *onsets])
        customers = {self._specs[check].customer for check in ids}
        found = {w.id: w for w in await tx.windows.covering(customers, ending_after=since)}
        found |= {w.id: w for w in self._schedule.between(since, now + timedelta(seconds=1))}
        # A planned outage is judged by its own window's end, however long ago that was.
        for verdict in before.values():
            window_id = verdict.outage.window_id if verdict.outage else None
            if window_id is not None and window_id not in found:
                window = await tx.windows.get(window_id) or self._schedule.find(window_id)
                if window is not None:
                    found[window.id] = window
        return {
            check: [
                window
                for window in found.values()
                if window.cancelled_at is None and window.covers(check, self._specs[check].customer)
            ]
            for check in ids
        }

    async def record(
        self, tx: Tx, spec: CheckSpec, transition: Transition, now: datetime
    ) -> Recorded:
        """Record one transition: its outage row, its ticket, the pages the ticket causes."""
        await tx.outages.record(spec.id, spec.customer, transition)
        effect = tickets.on_transition(transition).effect
        if effect is tickets.TicketEffect.OPEN:
            draft = tickets.open_ticket(
                "", spec.id, spec.customer, transition.outage, now, transition.reason
            )
            ticket, opened = await tx.tickets.open(draft)
            if not opened:
                return Recorded(spec, transition, ticket)
            plan = paging.on_opened(self._planner, ticket, now)
            await apply_plan(tx, self._planner, ticket, plan, now)
            return Recorded(spec, transition, ticket, opened=True, unreached=plan.unreached)
        if effect is tickets.TicketEffect.RECORD_RECOVERY:
            found = await tx.tickets.of_outage(spec.id, transition.outage.onset)
            if found is None:
                return Recorded(spec, transition)
            change = tickets.record_recovery(found, transition.at, transition.reason)
            await tx.tickets.save(found, change.ticket)
            if change.ticket != found:
                plan = paging.on_recovered(change.ticket)
                await apply_plan(tx, self._planner, change.ticket, plan, now)
            return Recorded(spec, transition, change.ticket)
        return Recorded(spec, transition)


def counts_as(transition: Transition) -> Classification | None:
    """Return the classification `sitewatch_outages_total` counts a transition under.

    An outage is counted when it starts (emergency or planned) and again when a planned
    one overruns: `emergency + overrun` is the number of tickets opened.
    """
    if transition.kind in (TransitionKind.STARTED, TransitionKind.OVERRAN):
        return transition.outage.classification
    return None
