"""Outage rules: from probe results to check states and outage transitions, purely.

Nothing here awaits or touches storage. Each function takes the check's current
`CheckStatus`, what happened and `now`, and returns a `Decision`: the new status,
the transitions to act on (each with a reason), and whether to re-probe soon.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sitewatch.model import (
    CheckStatus,
    Classification,
    Outage,
    ProbeResult,
    State,
    Transition,
    TransitionKind,
    Window,
)


@dataclass(frozen=True, slots=True)
class Policy:
    """The thresholds one check is judged by."""

    confirm: int
    recover: int
    maintenance_grace: timedelta = timedelta(0)


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of applying the rules once."""

    status: CheckStatus
    transitions: tuple[Transition, ...] = ()
    urgent: bool = False
    """Re-probe after `retry_interval` rather than the regular interval."""
    notes: tuple[str, ...] = field(default=())
    """Why nothing happened where something might have (e.g. held by a prober fault)."""


def observe(
    status: CheckStatus,
    result: ProbeResult,
    *,
    windows: Sequence[Window],
    policy: Policy,
    hold_emergencies: bool = False,
) -> Decision:
    """Apply one probe result to a check's status.

    `windows` are the windows that cover this check. `hold_emergencies` is set
    while a prober fault lasts: no emergency is confirmed until it clears.
    """
    at = result.started_at
    status = replace(status, last_result=result.kind, last_result_at=at)
    if result.ok:
        return _observe_success(status, at, policy)
    return _observe_failure(status, result, windows, policy, hold_emergencies)


def tick(
    status: CheckStatus,
    now: datetime,
    *,
    windows: Sequence[Window],
    policy: Policy,
    hold_emergencies: bool = False,
) -> Decision:
    """Apply the passing of time: a planned outage may overrun its window."""
    outage = status.outage
    if outage is None or outage.classification is not Classification.PLANNED:
        return Decision(status)
    window = next((w for w in windows if w.id == outage.window_id), None)
    # Without its window there is no end to grant grace after: overrun now. (A deadline
    # of now + grace would move with every tick, and the outage would never page.)
    deadline = window.end + policy.maintenance_grace if window else now
    if now < deadline:
        return Decision(status)
    if hold_emergencies:
        return Decision(status, notes=("overrun held: prober fault in progress",))
    reason = (
        f"still failing at {deadline.isoformat()}, the end of planned event {outage.window_id}"
        f" plus {policy.maintenance_grace} grace"
        if window
        else f"planned event {outage.window_id} no longer exists"
    )
    overrun = replace(outage, classification=Classification.OVERRUN)
    new_status = replace(status, state=State.DOWN, since=deadline, outage=overrun)
    return Decision(
        new_status, (Transition(TransitionKind.OVERRAN, deadline, overrun, reason),), urgent=True
    )


def classify(onset: datetime, windows: Sequence[Window]) -> tuple[Classification, Window | None]:
    """Tell whether an outage with this onset is planned, and by which window."""
    for window in windows:
        if window.is_planned_event and window.contains(onset):
            return Classification.PLANNED, window
    return Classification.EMERGENCY, None


def _observe_success(status: CheckStatus, at: datetime, policy: Policy) -> Decision:
    status = replace(
        status,
        successes=status.successes + 1,
        failures=0,
        streak_onset=None,
        streak_symptom=None,
        streak_detail="",
    )
    outage = status.outage
    if outage is None:
        if status.state is State.UP:
            return Decision(status)
        return Decision(replace(status, state=State.UP, since=at))
    if status.successes < policy.recover:
        return Decision(status, urgent=True)
    reason = f"{status.successes} consecutive successful probes (recover: {policy.recover})"
    ended = Transition(TransitionKind.ENDED, at, outage, reason)
    return Decision(replace(status, state=State.UP, since=at, outage=None), (ended,))


def _observe_failure(
    status: CheckStatus,
    result: ProbeResult,
    windows: Sequence[Window],
    policy: Policy,
    hold_emergencies: bool,
) -> Decision:
    at = result.started_at
    status = replace(status, failures=status.failures + 1, successes=0)
    if status.streak_onset is None:
        status = replace(
            status, streak_onset=at, streak_symptom=result.kind, streak_detail=result.detail
        )
    if status.outage is not None:
        overrun = tick(
            status, at, windows=windows, policy=policy, hold_emergencies=hold_emergencies
        )
        return replace(overrun, urgent=True)
    if status.failures < policy.confirm:
        return Decision(status, urgent=True)
    return _confirm(status, windows, policy, hold_emergencies)


def _confirm(
    status: CheckStatus, windows: Sequence[Window], policy: Policy, hold_emergencies: bool
) -> Decision:
    onset = status.streak_onset
    assert onset is not None and status.streak_symptom is not None
    classification, window = classify(onset, windows)
    if classification is Classification.EMERGENCY and hold_emergencies:
        return Decision(status, urgent=True, notes=("emergency held: prober fault in progress",))
    outage = Outage(
        onset=onset,
        symptom=status.streak_symptom,
        classification=classification,
        detail=status.streak_detail,
        window_id=window.id if window else None,
    )
    if window is not None:
        reason = f"onset {onset.isoformat()} falls inside planned event {window.id}"
        state = State.MAINTENANCE
    else:
        reason = f"onset {onset.isoformat()} falls outside every covering planned event"
        state = State.DOWN
    reason = f"{status.failures} consecutive failures (confirm: {policy.confirm}); {reason}"
    started = Transition(TransitionKind.STARTED, status.last_result_at or onset, outage, reason)
    decision = Decision(replace(status, state=state, since=onset, outage=outage), (started,))
    if classification is Classification.PLANNED:
        # The window may already be over (a late confirmation): overrun at once.
        later = tick(decision.status, started.at, windows=windows, policy=policy)
        decision = Decision(later.status, (started, *later.transitions))
    return replace(decision, urgent=True)
