"""The prober fault guard: when most checks fail on the network at once, it is us."""

from __future__ import annotations

import pytest

from sitewatch.model import ResultKind
from sitewatch.outages.proberfault import FaultChange, ProberFaultGuard

CONNECT, OK, HTTP = ResultKind.CONNECT, ResultKind.OK, ResultKind.HTTP_STATUS


def guard(total: int, *, ratio: float, min_checks: int = 5) -> ProberFaultGuard:
    return ProberFaultGuard({f"c{i}" for i in range(total)}, ratio=ratio, min_checks=min_checks)


def fail(g: ProberFaultGuard, count: int, kind: ResultKind = CONNECT) -> list[FaultChange | None]:
    return [g.observe(f"c{i}", kind).change for i in range(count)]


@pytest.mark.parametrize(
    ("total", "failing", "ratio", "fault"),
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
    total: int, failing: int, ratio: float, fault: bool
) -> None:
    g = guard(total, ratio=ratio)
    fail(g, failing)
    assert g.active is fault


def test_the_fault_starts_once_and_clears_once() -> None:
    g = guard(5, ratio=0.8)
    assert fail(g, 5) == [None, None, None, FaultChange.STARTED, None]
    verdict = g.observe("c0", OK)
    assert (verdict.change, verdict.failing, verdict.total) == (None, 4, 5)
    assert g.observe("c1", OK).change is FaultChange.CLEARED


def test_only_network_level_failures_count() -> None:
    g = guard(5, ratio=0.8)
    assert fail(g, 5, HTTP) == [None] * 5
    assert not g.active
    fail(g, 5, ResultKind.TIMEOUT)
    assert g.active


def test_a_result_of_an_unconfigured_check_is_ignored() -> None:
    g = guard(5, ratio=0.8)
    fail(g, 3)
    assert g.observe("not-configured", CONNECT).failing == 3
    assert not g.active
