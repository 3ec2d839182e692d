"""The outage rules as a specification: named scenarios under explicit times.

One location, so that a location's status and the verdict the quorum makes of it
are the single-instance rules exactly (several locations: tests/test_quorum.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from sitewatch.model import (
    Classification,
    LocationStatus,
    MaintenanceKind,
    ProbeResult,
    ResultKind,
    State,
    TransitionKind,
    Verdict,
    Window,
)
from sitewatch.outages import quorum
from sitewatch.outages.quorum import Quorum, Vote
from sitewatch.outages.rules import Policy, observe

T0 = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
CHECK, CUSTOMER = "acme-portal", "acme"
POLICY = Policy(confirm=2, recover=2)
NO_GRACE = timedelta(0)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def window(
    start: float,
    end: float,
    declared: float | None = None,
    checks: tuple[str, ...] = (),
    customer: str = CUSTOMER,
) -> Window:
    return Window(
        id="7",
        customer=customer,
        checks=checks,
        kind=MaintenanceKind.SOFTWARE_UPGRADE,
        start=at(start),
        end=at(end),
        declared_at=at(declared if declared is not None else start - 60),
        declared_by=customer,
    )


def result(minute: float, kind: ResultKind) -> ProbeResult:
    return ProbeResult(CHECK, at(minute), timedelta(milliseconds=30), kind, detail=kind.value)


@dataclass
class Run:
    """The location's status, the verdict and the transitions of results and ticks in order."""

    location: LocationStatus = field(default_factory=LocationStatus)
    verdict: Verdict = field(default_factory=Verdict)
    transitions: list[tuple[TransitionKind, Classification, datetime]] = field(default_factory=list)
    urgent: bool = False


def feed(
    events: Sequence[tuple[float, ResultKind | None]],
    windows: Sequence[Window] = (),
    policy: Policy = POLICY,
    grace: timedelta = NO_GRACE,
) -> Run:
    """Apply `(minute, kind)` results in order; a kind of None is a clock tick."""
    run = Run()
    covering = [w for w in windows if w.covers(CHECK, CUSTOMER)]
    for minute, kind in events:
        if kind is None:
            decision = quorum.tick(
                run.verdict,
                _votes(run),
                quorum=Quorum(),
                windows=covering,
                grace=grace,
                now=at(minute),
            )
        else:
            location = observe(run.location, result(minute, kind), policy)
            changed = location.changed_state(run.location)
            run.location, run.urgent = location.status, location.urgent
            if not changed:
                continue
            decision = quorum.judge(
                run.verdict,
                _votes(run),
                quorum=Quorum(),
                windows=covering,
                grace=grace,
                at=at(minute),
            )
        run.verdict = decision.verdict
        run.transitions += [(t.kind, t.outage.classification, t.at) for t in decision.transitions]
    return run


def _votes(run: Run) -> list[Vote]:
    return [Vote("default", run.location)]


OK, FAIL = ResultKind.OK, ResultKind.CONNECT
STARTED, OVERRAN, ENDED = TransitionKind.STARTED, TransitionKind.OVERRAN, TransitionKind.ENDED
EMERGENCY, PLANNED, OVERRUN = (
    Classification.EMERGENCY,
    Classification.PLANNED,
    Classification.OVERRUN,
)


def test_a_new_check_is_unknown_until_its_first_result() -> None:
    assert Verdict().state is State.UNKNOWN
    assert feed([(0, OK)]).verdict.state is State.UP


def test_one_failure_is_not_an_outage_but_asks_for_a_quick_retry() -> None:
    run = feed([(0, OK), (1, FAIL)])
    assert run.verdict.state is State.UP
    assert run.transitions == []
    assert run.urgent


def test_confirm_failures_start_an_emergency_with_the_first_failure_as_onset() -> None:
    run = feed([(0, OK), (1, FAIL), (1.1, FAIL)])
    assert run.verdict.state is State.DOWN
    assert run.verdict.since == at(1)
    assert run.transitions == [(STARTED, EMERGENCY, at(1.1))]
    assert run.verdict.outage is not None and run.verdict.outage.onset == at(1)


def test_a_flapping_site_below_the_threshold_never_confirms() -> None:
    run = feed([(0, FAIL), (1, OK), (2, FAIL), (3, OK), (4, FAIL)])
    assert run.transitions == []
    assert run.verdict.state is State.UP


def test_recovery_needs_recover_consecutive_successes() -> None:
    down = [(0, FAIL), (1, FAIL)]
    assert feed([*down, (2, OK)]).verdict.state is State.DOWN
    assert feed([*down, (2, OK), (3, FAIL), (4, OK)]).verdict.state is State.DOWN
    run = feed([*down, (2, OK), (3, OK)])
    assert run.verdict.state is State.UP
    assert run.transitions[-1] == (ENDED, EMERGENCY, at(3))


def test_a_failure_during_recovery_keeps_the_same_outage() -> None:
    run = feed([(0, FAIL), (1, FAIL), (2, OK), (3, FAIL), (4, OK), (5, OK)])
    assert [t[0] for t in run.transitions] == [STARTED, ENDED]


@pytest.mark.parametrize(
    ("name", "windows", "events", "expected_state", "expected"),
    [
        (
            "onset inside a declared window is planned",
            [window(0, 60)],
            [(10, FAIL), (11, FAIL)],
            State.MAINTENANCE,
            [(STARTED, PLANNED, at(11))],
        ),
        (
            "onset before the window starts is an emergency",
            [window(10, 60)],
            [(9, FAIL), (11, FAIL)],
            State.DOWN,
            [(STARTED, EMERGENCY, at(11))],
        ),
        (
            "onset at the window's end is an emergency (end is exclusive)",
            [window(0, 10)],
            [(10, FAIL), (11, FAIL)],
            State.DOWN,
            [(STARTED, EMERGENCY, at(11))],
        ),
        (
            "onset at the window's start is planned (start is inclusive)",
            [window(10, 60)],
            [(10, FAIL), (11, FAIL)],
            State.MAINTENANCE,
            [(STARTED, PLANNED, at(11))],
        ),
        (
            "a window declared after it started plans nothing",
            [window(0, 60, declared=5)],
            [(10, FAIL), (11, FAIL)],
            State.DOWN,
            [(STARTED, EMERGENCY, at(11))],
        ),
        (
            "a window declared after the onset does not cancel the emergency",
            [window(12, 60, declared=12)],
            [(10, FAIL), (11, FAIL), (13, FAIL)],
            State.DOWN,
            [(STARTED, EMERGENCY, at(11))],
        ),
        (
            "a window for another check of the customer does not cover this one",
            [window(0, 60, checks=("acme-api",))],
            [(10, FAIL), (11, FAIL)],
            State.DOWN,
            [(STARTED, EMERGENCY, at(11))],
        ),
        (
            "a window naming this check covers it",
            [window(0, 60, checks=(CHECK,))],
            [(10, FAIL), (11, FAIL)],
            State.MAINTENANCE,
            [(STARTED, PLANNED, at(11))],
        ),
        (
            "another customer's window never covers this check",
            [window(0, 60, customer="globex")],
            [(10, FAIL), (11, FAIL)],
            State.DOWN,
            [(STARTED, EMERGENCY, at(11))],
        ),
        (
            "a planned outage still failing at the window's end overruns at that moment",
            [window(0, 30)],
            [(10, FAIL), (11, FAIL), (30, None)],
            State.DOWN,
            [(STARTED, PLANNED, at(11)), (OVERRAN, OVERRUN, at(30))],
        ),
        (
            "a planned outage that recovers inside its window never pages",
            [window(0, 30)],
            [(10, FAIL), (11, FAIL), (20, OK), (21, OK), (30, None)],
            State.UP,
            [(STARTED, PLANNED, at(11)), (ENDED, PLANNED, at(21))],
        ),
        (
            "an emergency that recovers inside a later window still reports the recovery",
            [window(15, 60, declared=15)],
            [(10, FAIL), (11, FAIL), (20, OK), (21, OK)],
            State.UP,
            [(STARTED, EMERGENCY, at(11)), (ENDED, EMERGENCY, at(21))],
        ),
        (
            "a failing check confirmed only after its window ended overruns at once",
            [window(0, 10)],
            [(9, FAIL), (12, FAIL)],
            State.DOWN,
            [(STARTED, PLANNED, at(12)), (OVERRAN, OVERRUN, at(10))],
        ),
    ],
)
def test_planned_event_rules(
    name: str,
    windows: list[Window],
    events: list[tuple[float, ResultKind | None]],
    expected_state: State,
    expected: list[tuple[TransitionKind, Classification, datetime]],
) -> None:
    run = feed(events, windows)
    assert run.verdict.state is expected_state, name
    assert run.transitions == expected, name


def test_grace_delays_the_overrun_until_the_window_end_plus_grace() -> None:
    grace = timedelta(minutes=5)
    events: list[tuple[float, ResultKind | None]] = [(10, FAIL), (11, FAIL), (32, None)]
    assert feed(events, [window(0, 30)], grace=grace).verdict.state is State.MAINTENANCE
    run = feed([*events, (35, None)], [window(0, 30)], grace=grace)
    assert run.transitions[-1] == (OVERRAN, OVERRUN, at(35))


def test_a_planned_outage_whose_window_is_gone_overruns_at_once_despite_grace() -> None:
    grace = timedelta(minutes=5)
    planned = feed([(10, FAIL), (11, FAIL)], [window(0, 30)], grace=grace)
    # The window is no longer known (a recurring entry removed from the config, say):
    # the grace has no end to count from, so the outage must page now, not never.
    decision = quorum.tick(
        planned.verdict, _votes(planned), quorum=Quorum(), windows=[], grace=grace, now=at(12)
    )
    assert [(t.kind, t.at) for t in decision.transitions] == [(OVERRAN, at(12))]
    assert "no longer exists" in decision.transitions[0].reason


def test_a_prober_fault_holds_network_level_emergencies_until_it_clears() -> None:
    down = feed([(0, FAIL), (1, FAIL), (2, FAIL)])
    held = quorum.judge(
        Verdict(),
        [Vote("default", down.location, faulted=True)],
        quorum=Quorum(),
        windows=(),
        grace=NO_GRACE,
        at=at(2),
    )
    cleared = quorum.judge(
        Verdict(),
        [Vote("default", down.location)],
        quorum=Quorum(),
        windows=(),
        grace=NO_GRACE,
        at=at(3),
    )
    assert held.transitions == ()
    assert [(t.kind, t.outage.onset) for t in cleared.transitions] == [(STARTED, at(0))]


def test_a_prober_fault_never_holds_an_http_level_verdict() -> None:
    down = feed([(0, ResultKind.HTTP_STATUS), (1, ResultKind.HTTP_STATUS)])
    decision = quorum.judge(
        Verdict(),
        [Vote("default", down.location, faulted=True)],
        quorum=Quorum(),
        windows=(),
        grace=NO_GRACE,
        at=at(1),
    )
    assert [(t.kind, t.outage.symptom) for t in decision.transitions] == [
        (STARTED, ResultKind.HTTP_STATUS)
    ]


def test_the_symptom_is_the_kind_of_the_first_failure() -> None:
    run = feed([(0, ResultKind.TIMEOUT), (1, ResultKind.CONNECT)])
    assert run.verdict.outage is not None
    assert run.verdict.outage.symptom is ResultKind.TIMEOUT


@pytest.mark.parametrize(
    ("history", "kind", "may_page"),
    [
        pytest.param([], OK, False, id="a first success: unknown -> up waits for its batch"),
        pytest.param([OK], OK, False, id="up stays up"),
        pytest.param([OK], FAIL, False, id="a first failure confirms nothing"),
        pytest.param([OK, FAIL], FAIL, True, id="confirmed down: committed at once"),
        pytest.param([FAIL], FAIL, True, id="a new check down from the start"),
        pytest.param([FAIL, FAIL, OK], OK, True, id="recovered: committed at once"),
    ],
)
def test_only_a_change_to_or_from_down_is_committed_without_lingering(
    history: list[ResultKind], kind: ResultKind, may_page: bool
) -> None:
    status = LocationStatus()
    for minute, past in enumerate(history):
        status = observe(status, result(minute, past), POLICY).status
    decision = observe(status, result(9, kind), POLICY)
    assert decision.may_page(status) is may_page
