"""A location's prober fault, judged and recorded inside the results batch.

When the batch may change the verdict (a network-level failure arrived, or a fault is
in progress), the location's network-failing checks are read inside the batch's
transaction, `outages.proberfault.judge` decides, and a change commits with its
page: `PROBER FAULT <location>` or `PROBER OK <location>`. When a fault clears, every
check this location has down is judged again in that same transaction: its
network-level votes count again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sitewatch.model import NETWORK_KINDS, CheckSpec, LocationFault, PageKind, ProbeResult
from sitewatch.outages.proberfault import FaultChange, FaultPolicy, judge
from sitewatch.paging.planner import Planner
from sitewatch.paging.plans import warn_unreached
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store, Tx

log = logging.getLogger(__name__)

_NETWORK = sorted(kind.value for kind in NETWORK_KINDS)


@dataclass(frozen=True, slots=True)
class FaultOutcome:
    """What judging the fault in one batch found."""

    active: bool
    change: FaultChange | None = None
    reason: str = ""
    rejudge: set[str] = field(default_factory=set)
    """Checks to judge again in the same transaction (a cleared fault)."""


class FaultJudge:
    """Judge this instance's location for a prober fault, in the batch's transaction."""

    def __init__(
        self,
        specs: Mapping[str, CheckSpec],
        *,
        location: str,
        policy: FaultPolicy,
        planner: Planner,
        metrics: Metrics,
    ) -> None:
        self._specs = specs
        self._location = location
        self._policy = policy
        self._planner = planner
        self._metrics = metrics
        self.active = False
        """This location's fault as last committed."""

    async def load(self, store: Store) -> None:
        """Take in the fault state the database holds (a restart during a fault keeps it)."""
        async with store.reading() as tx:
            self.active = self._location in await tx.cluster.faults()
        self._metrics.prober_fault.set(1 if self.active else 0)

    async def judge(self, tx: Tx, batch: Sequence[ProbeResult], now: datetime) -> FaultOutcome:
        """Judge the fault if this batch may change it; record a change with its page."""
        if not self.active and not any(result.kind.is_network for result in batch):
            return FaultOutcome(self.active)
        current = (await tx.cluster.faults()).get(self._location)
        failing = await tx.checks.failing_at(self._location, _NETWORK)
        decision = judge(current is not None, failing, self._specs, self._policy)
        if decision.change is FaultChange.STARTED:
            fault = LocationFault(self._location, now, decision.reason)
            await tx.cluster.save_fault(self._location, fault)
            await self._page(tx, PageKind.PROBER_FAULT, fault.episode, decision.reason, now)
            return FaultOutcome(True, decision.change, decision.reason)
        if decision.change is FaultChange.CLEARED and current is not None:
            await tx.cluster.save_fault(self._location, None)
            await self._page(tx, PageKind.PROBER_OK, current.episode, decision.reason, now)
            rejudge = set(await tx.checks.down_at(self._location))
            return FaultOutcome(False, decision.change, decision.reason, rejudge)
        return FaultOutcome(decision.active)

    def adopt(self, outcome: FaultOutcome) -> None:
        """Make memory, the gauge and the log follow a committed outcome."""
        self.active = outcome.active
        self._metrics.prober_fault.set(1 if outcome.active else 0)
        if outcome.change is FaultChange.STARTED:
            log.warning(
                "PROBER FAULT %s: %s; its network-level failures do not vote",
                self._location,
                outcome.reason,
            )
        elif outcome.change is FaultChange.CLEARED:
            log.warning(
                "PROBER OK %s: %s; %d check(s) judged again",
                self._location,
                outcome.reason,
                len(outcome.rejudge),
            )

    async def _page(self, tx: Tx, kind: PageKind, episode: str, reason: str, now: datetime) -> None:
        plan = self._planner.fault(kind, self._location, episode, reason, now)
        warn_unreached(self._metrics, f"{kind.prefix} {self._location}", plan.unreached)
        await tx.outbox.add(plan.rows, now)
