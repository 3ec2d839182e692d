"""The monitor: applies each probe result to its check's status and commits what matters.

It is the I/O shell around `outages.py`: it feeds the pure rules, commits every
transition before acting on it, batches the rest (streak counters, raw results)
into one write a second, and keeps the state gauges true.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sitewatch.clock import Clock
from sitewatch.model import (
    CheckSpec,
    CheckStatus,
    PagePlanner,
    ProbeResult,
    State,
    Transition,
    TransitionKind,
)
from sitewatch.outages.proberfault import FaultChange, ProberFaultGuard
from sitewatch.outages.rules import Decision, Policy, observe
from sitewatch.outages.rules import tick as tick_rules
from sitewatch.outages.windowbook import WindowBook
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CheckView:
    """One check as the API shows it."""

    spec: CheckSpec
    status: CheckStatus


class Monitor:
    """Own every check's status; turn results into committed transitions."""

    def __init__(
        self,
        checks: Sequence[CheckSpec],
        *,
        store: Store,
        metrics: Metrics,
        clock: Clock,
        windows: WindowBook,
        maintenance_grace: timedelta,
        guard: ProberFaultGuard,
        planner: PagePlanner | None = None,
        on_fault: Callable[[FaultChange, str], Awaitable[None]] | None = None,
    ) -> None:
        self._checks = {c.id: c for c in checks}
        self._planner = planner
        """Plans the pages a transition causes, committed with it (SITE DOWN, RECOVERED)."""
        self._on_fault = on_fault
        """Told when the prober fault guard starts or clears (PROBER FAULT / OK pages)."""
        self._store = store
        self._metrics = metrics
        self._clock = clock
        self._windows = windows
        self._grace = maintenance_grace
        self._guard = guard
        self._statuses: dict[str, CheckStatus] = {c.id: CheckStatus() for c in checks}
        self._dirty: set[str] = set()
        # A result and the periodic tick may judge the same check at once; each
        # judgement (decide, commit, adopt) runs under the check's own lock.
        self._locks: dict[str, asyncio.Lock] = {c.id: asyncio.Lock() for c in checks}
        self._results: list[ProbeResult] = []
        self._customers = frozenset(c.customer for c in checks)
        self._in_maintenance: set[str] = set()
        """Checks with a planned outage: the only ones the tick must look at."""

    async def start(self) -> None:
        """Resume every check's status from the store."""
        saved = await self._store.load_statuses()
        for check_id, status in saved.items():
            if check_id in self._statuses:
                self._statuses[check_id] = status
        for spec in self._checks.values():
            self._show_state(spec, self._statuses[spec.id].state)

    def views(self) -> list[CheckView]:
        """Return every check with its current status, in id order."""
        return [CheckView(spec, self._statuses[cid]) for cid, spec in sorted(self._checks.items())]

    @property
    def prober_fault(self) -> bool:
        """Tell whether a prober fault is in progress."""
        return self._guard.active

    async def on_result(self, spec: CheckSpec, result: ProbeResult) -> bool:
        """Apply one probe result; return whether to re-probe soon."""
        self._metrics.observe_probe(spec.customer, result)
        self._results.append(result)
        await self._observe_guard(spec, result)
        async with self._locks[spec.id]:
            decision = observe(
                self._statuses[spec.id],
                result,
                windows=self._windows.covering(spec.id, spec.customer),
                policy=self._policy(spec),
                hold_emergencies=self._guard.active,
            )
            await self._apply(spec, decision)
        return decision.urgent

    async def tick(self) -> None:
        """Apply the passing of time to every outage (overruns) and save progress."""
        now = self._clock.now()
        # Only a planned outage can change with time alone (it may overrun), and
        # walking 10,000 checks every second would cost more than it finds.
        for check_id in sorted(self._in_maintenance):
            spec = self._checks[check_id]
            async with self._locks[spec.id]:
                decision = tick_rules(
                    self._statuses[spec.id],
                    now,
                    windows=self._windows.covering(spec.id, spec.customer),
                    policy=self._policy(spec),
                    hold_emergencies=self._guard.active,
                )
                await self._apply(spec, decision)
        # A customer without checks may still declare windows: count those too.
        customers = self._customers | self._windows.customers()
        windows = [w for customer in customers for w in self._windows.of_customer(customer)]
        self._metrics.show_windows(customers, windows, now)
        self._metrics.prober_fault.set(1 if self._guard.active else 0)
        await self.flush()

    async def flush(self) -> None:
        """Write the batched statuses and raw results in one transaction."""
        if not self._dirty and not self._results:
            return
        statuses = {cid: self._statuses[cid] for cid in self._dirty}
        results, self._results, self._dirty = self._results, [], set()
        await self._store.save_progress(statuses, results)

    def _policy(self, spec: CheckSpec) -> Policy:
        return Policy(confirm=spec.confirm, recover=spec.recover, maintenance_grace=self._grace)

    async def _apply(self, spec: CheckSpec, decision: Decision) -> None:
        """Commit the decision's transitions, then (only then) adopt its status.

        If the commit fails, the status in memory stays as it was, so the next result
        decides the same transition again and the commit is retried: a failed write
        delays a ticket, it never loses it.
        """
        before = self._statuses[spec.id]
        if decision.transitions:
            records = await self._store.record_transitions(
                spec.id, spec.customer, decision.status, decision.transitions, self._planner
            )
            for transition, record in zip(decision.transitions, records, strict=True):
                self._count(spec, transition)
                ticket = f", ticket {record.ticket.id}" if record.ticket else ""
                log.info(
                    "check %s: outage %s (%s)%s: %s",
                    spec.id,
                    transition.kind.value,
                    transition.outage.classification.value,
                    ticket,
                    transition.reason,
                )
        self._statuses[spec.id] = decision.status
        self._dirty.add(spec.id)
        if decision.status.state is not before.state:
            self._show_state(spec, decision.status.state)

    def _show_state(self, spec: CheckSpec, state: State) -> None:
        """Keep the state gauges and the set of checks in maintenance true."""
        self._metrics.set_state(spec.id, spec.customer, state)
        if state is State.MAINTENANCE:
            self._in_maintenance.add(spec.id)
        else:
            self._in_maintenance.discard(spec.id)

    def _count(self, spec: CheckSpec, transition: Transition) -> None:
        classification = transition.outage.classification
        if transition.kind is TransitionKind.STARTED or transition.kind is TransitionKind.OVERRAN:
            self._metrics.outages.labels(spec.customer, classification.value).inc()

    async def _observe_guard(self, spec: CheckSpec, result: ProbeResult) -> None:
        verdict = self._guard.observe(spec.id, result.kind)
        if verdict.change is FaultChange.STARTED:
            log.warning("PROBER FAULT: %s; customer tickets held", verdict.reason)
        elif verdict.change is FaultChange.CLEARED:
            log.warning("PROBER OK: %s; checks are judged as usual again", verdict.reason)
        if verdict.change is not None and self._on_fault is not None:
            await self._on_fault(verdict.change, verdict.reason)
