"""Location rules: how one location judges one check from its probe results, purely.

Each location counts consecutive failures and successes: `confirm` failures in a
row make the check `down` at that location (the first of them is the onset),
`recover` successes in a row make it `up` again. Windows, quorum and tickets are
not this module's business: `outages.quorum` turns every location's status into
the check's verdict. Nothing here awaits or touches storage.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sitewatch.model import LocationDown, LocationStatus, ProbeResult, State


@dataclass(frozen=True, slots=True)
class Policy:
    """The counts one check is judged by."""

    confirm: int
    recover: int


@dataclass(frozen=True, slots=True)
class LocationDecision:
    """The location's status after one result, and whether to re-probe soon."""

    status: LocationStatus
    urgent: bool
    """Re-probe after `retry_interval` rather than the regular interval."""
    reason: str = ""
    """Why the state changed (empty when it did not)."""

    def changed_state(self, before: LocationStatus) -> bool:
        """Tell whether the state moved (unknown, up, down): the verdict must be judged."""
        return self.status.state is not before.state

    def may_page(self, before: LocationStatus) -> bool:
        """Tell whether the change may open or end an outage: to or from `down`.

        A first success (unknown -> up) changes the verdict but opens nothing and
        ends nothing, so it need not be committed before its company arrives.
        """
        return self.changed_state(before) and State.DOWN in (before.state, self.status.state)


def observe(status: LocationStatus, result: ProbeResult, policy: Policy) -> LocationDecision:
    """Apply one probe result to a location's status of a check."""
    if result.ok:
        return _success(status, result, policy)
    return _failure(status, result, policy)


def _success(status: LocationStatus, result: ProbeResult, policy: Policy) -> LocationDecision:
    # One new status per result, built at once: this runs for every probe, twice.
    at, successes = result.started_at, status.successes + 1
    state, since, down, reason, urgent = status.state, status.since, status.down, "", False
    if down is None:
        if state is not State.UP:
            # One success is enough to know that users can log on.
            state, since, reason = State.UP, at, "first success"
    elif successes < policy.recover:
        urgent = True
    else:
        state, since, down = State.UP, at, None
        reason = f"{successes} consecutive successful probes (recover: {policy.recover})"
    # Every field named: a success leaves nothing of the failure streak behind.
    new = LocationStatus(
        state=state,
        since=since,
        failures=0,
        successes=successes,
        streak_onset=None,
        streak_symptom=None,
        streak_detail="",
        down=down,
        last_result=result.kind,
        last_result_at=at,
        version=status.version + 1,
    )
    return LocationDecision(new, urgent=urgent, reason=reason)


def _failure(status: LocationStatus, result: ProbeResult, policy: Policy) -> LocationDecision:
    status = replace(
        status,
        failures=status.failures + 1,
        successes=0,
        last_result=result.kind,
        last_result_at=result.started_at,
        version=status.version + 1,
    )
    if status.streak_onset is None:
        status = replace(
            status,
            streak_onset=result.started_at,
            streak_symptom=result.kind,
            streak_detail=result.detail,
        )
    if status.down is not None or status.failures < policy.confirm:
        # Re-probe soon while a streak is unconfirmed and while the check is down,
        # so that confirmation and recovery take seconds, not intervals.
        return LocationDecision(status, urgent=True)
    onset, symptom = status.streak_onset, status.streak_symptom
    assert onset is not None and symptom is not None
    down = LocationDown(onset=onset, symptom=symptom, detail=status.streak_detail)
    reason = f"{status.failures} consecutive failed probes (confirm: {policy.confirm})"
    return LocationDecision(
        replace(status, state=State.DOWN, since=onset, down=down), urgent=True, reason=reason
    )
