"""The prober fault guard: most checks failing at the network level at once is us."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sitewatch.model import ResultKind


class FaultChange(StrEnum):
    """A change of the guard's verdict."""

    STARTED = "started"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class FaultVerdict:
    """The guard's verdict after one result, with the figures behind it."""

    change: FaultChange | None
    failing: int
    total: int
    reason: str


class ProberFaultGuard:
    """Track which checks fail with network-level kinds and judge whether it is us.

    When at least `min_checks` checks are configured and at least `ratio` of them
    last failed with `dns`, `connect` or `timeout`, sitewatch's own network is the
    likelier culprit than every customer at once.
    """

    def __init__(self, check_ids: set[str], *, ratio: float, min_checks: int) -> None:
        self._checks = frozenset(check_ids)
        self._ratio = ratio
        self._min_checks = min_checks
        self._failing: set[str] = set()
        self.active = False

    def observe(self, check_id: str, kind: ResultKind) -> FaultVerdict:
        """Record a check's latest result kind and return the verdict."""
        if kind.is_network and check_id in self._checks:
            self._failing.add(check_id)
        else:
            self._failing.discard(check_id)
        total, failing = len(self._checks), len(self._failing)
        # `failing / total`, not `ratio * total`: 0.55 * 100 is 55.00000000000001 in
        # floats, so 55 of 100 would miss a 55 % threshold; the quotient rounds as the
        # ratio written in the config does, so "exactly the ratio" counts.
        fault = total >= self._min_checks and failing / total >= self._ratio
        reason = (
            f"{failing} of {total} checks failing with network-level kinds "
            f"(threshold {self._ratio:.0%} of at least {self._min_checks} checks)"
        )
        change = None
        if fault and not self.active:
            change = FaultChange.STARTED
        elif self.active and not fault:
            change = FaultChange.CLEARED
        self.active = fault
        return FaultVerdict(change, failing, total, reason)
