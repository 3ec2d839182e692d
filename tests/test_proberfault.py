"""The prober fault rule: when a location's checks fail on the network at once, it is us."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sitewatch.model import CheckSpec, Method, Step
from sitewatch.outages.proberfault import FaultChange, FaultPolicy, judge
from tests.builders import make_check


def fleet(total: int, customers: int = 5) -> dict[str, CheckSpec]:
    """Return `total` checks spread over `customers` customers, one host per check."""
    return {
        f"c{i}": replace(
            make_check(f"c{i}", customer=f"customer-{i % customers}"),
            steps=(Step(Method.GET, f"https://site-{i}.example/login"),),
        )
        for i in range(total)
    }


def failing(count: int) -> list[str]:
    return [f"c{i}" for i in range(count)]


@pytest.mark.parametrize(
    ("total", "count", "ratio", "fault"),
    [
        (5, 4, 0.8, True),
        (5, 3, 0.8, False),
        (10, 7, 0.7, True),
        # 0.55 * 100 is 55.00000000000001 in floats: exactly the ratio must count.
        (100, 55, 0.55, True),
        (100, 54, 0.55, False),
        (25, 7, 0.28, True),
        (4, 4, 0.5, False),  # fewer checks than min_checks: never a prober fault
    ],
)
def test_the_fault_holds_from_exactly_the_ratio_of_checks(
    total: int, count: int, ratio: float, fault: bool
) -> None:
    decision = judge(False, failing(count), fleet(total), FaultPolicy(ratio, min_checks=5))

    assert decision.active is fault
    assert decision.change is (FaultChange.STARTED if fault else None)


def test_the_fault_starts_once_and_clears_once() -> None:
    policy, checks = FaultPolicy(0.8, 5), fleet(5)

    assert judge(False, failing(5), checks, policy).change is FaultChange.STARTED
    assert judge(True, failing(5), checks, policy).change is None
    assert judge(True, failing(4), checks, policy).change is None
    assert judge(True, failing(3), checks, policy).change is FaultChange.CLEARED


def test_one_customers_own_network_outage_is_not_a_prober_fault() -> None:
    # Four of five checks fail with `connect`, all of them one customer's.
    checks = fleet(5, customers=5)
    for spec in list(checks.values())[:4]:
        checks[spec.id] = replace(spec, customer="acme")

    decision = judge(False, failing(4), checks, FaultPolicy(0.8, 5))

    assert not decision.active
    assert "across 1 customer(s)" in decision.reason


def test_failing_checks_that_all_reach_one_host_are_not_a_prober_fault() -> None:
    checks = fleet(10)
    shared = (Step(Method.GET, "https://shared-host.example/login"),)
    for check in failing(8):
        checks[check] = replace(checks[check], steps=shared)

    decision = judge(False, failing(8), checks, FaultPolicy(0.8, 5))

    assert not decision.active
    assert "and 1 host(s)" in decision.reason


def test_with_one_customer_configured_all_of_its_checks_failing_is_enough() -> None:
    decision = judge(False, failing(5), fleet(5, customers=1), FaultPolicy(0.8, 5))

    assert decision.active


def test_a_check_that_is_not_configured_is_not_counted() -> None:
    decision = judge(False, [*failing(3), "gone"], fleet(5), FaultPolicy(0.8, 5))

    assert not decision.active
    assert decision.reason.startswith("3 of 5 checks")
