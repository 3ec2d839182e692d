"""Domain values the unit tests build often, with defaults that read as "a normal check"."""

from __future__ import annotations

from datetime import timedelta

from sitewatch.model import CheckSpec


def make_check(
    check_id: str = "portal",
    *,
    customer: str = "acme",
    interval: float = 30.0,
    retry: float = 5.0,
) -> CheckSpec:
    """Build a step-less check (30 s interval, 5 s retry, confirm and recover 2)."""
    return CheckSpec(
        id=check_id,
        customer=customer,
        name=f"Check {check_id}",
        interval=timedelta(seconds=interval),
        timeout=timedelta(seconds=10),
        confirm=2,
        recover=2,
        retry_interval=timedelta(seconds=retry),
        steps=(),
    )
