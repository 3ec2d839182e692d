"""The prober fault rule: when a location's own network is likelier broken than its sites.

Many checks failing at one location with network-level kinds (`dns`, `connect`,
`timeout`) at once point at that location's network rather than at every customer.
One customer's network outage must not look like ours, so the failing checks must
also span several customers and several hosts. Pure: the caller says which checks
fail and passes the verdict before; the rule returns the change with its reason.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from sitewatch.model import CheckSpec


class FaultChange(StrEnum):
    """A change of a location's fault verdict."""

    STARTED = "started"
    CLEARED = "cleared"


@dataclass(frozen=True, slots=True)
class FaultPolicy:
    """When failing checks are taken to mean that the location itself is cut off."""

    ratio: float
    min_checks: int
    spread: int = 2
    """Distinct customers, and distinct hosts, the failing checks must span."""


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """Whether the location is in fault now, the change if any, and the figures why."""

    active: bool
    change: FaultChange | None
    reason: str


def judge(
    active: bool,
    failing: Collection[str],
    checks: Mapping[str, CheckSpec],
    policy: FaultPolicy,
) -> FaultDecision:
    """Decide whether a location is in a prober fault, given its network-failing checks."""
    failing_specs = [checks[check] for check in failing if check in checks]
    total = len(checks)
    customers = {spec.customer for spec in failing_specs}
    hosts = {spec.host for spec in failing_specs}
    # Where fewer customers (or hosts) exist at all, all of them failing is enough.
    need_customers = min(policy.spread, len({spec.customer for spec in checks.values()}))
    need_hosts = min(policy.spread, len({spec.host for spec in checks.values()}))
    # `failing / total`, not `ratio * total`: 0.55 * 100 is 55.00000000000001 in floats,
    # so 55 of 100 would miss a 55 % threshold; the quotient rounds as the ratio does.
    fault = (
        total >= policy.min_checks
        and len(failing_specs) / total >= policy.ratio
        and len(customers) >= need_customers
        and len(hosts) >= need_hosts
    )
    reason = (
        f"{len(failing_specs)} of {total} checks failing with network-level kinds, across "
        f"{len(customers)} customer(s) and {len(hosts)} host(s) (threshold "
        f"{policy.ratio:.0%} of at least {policy.min_checks} checks, over "
        f"{need_customers} customers and {need_hosts} hosts)"
    )
    change = None
    if fault and not active:
        change = FaultChange.STARTED
    elif active and not fault:
        change = FaultChange.CLEARED
    return FaultDecision(fault, change, reason)
