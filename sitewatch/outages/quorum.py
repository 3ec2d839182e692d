"""The verdict: a check's state and outage, decided from every location's status, purely.

A location votes that a check is down once it has confirmed it down. K locations
must vote (the quorum) for an outage to start; its onset is the earliest moment at
which K of them were failing at once. An outage whose onset lies inside a covering
planned event is planned; one still open at the event's end plus grace overruns.
It ends when a location's recovery leaves fewer than K live locations with the
check down (a location that comes back with the check up since before the onset
has not recovered: it never saw the outage). See docs/architecture.md, "Outages across locations".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sitewatch.model import (
    Classification,
    LocationStatus,
    Outage,
    State,
    Transition,
    TransitionKind,
    Verdict,
    Window,
)

MAJORITY = 0
"""`Quorum.count` of `quorum: majority`: more than half of the voting locations."""


@dataclass(frozen=True, slots=True)
class Quorum:
    """How many locations must see a check down: a majority, or a fixed number."""

    count: int = MAJORITY

    def required(self, voting: int) -> int:
        """Return K for this many voting locations (at least 1, at most `voting` if any)."""
        if self.count == MAJORITY:
            return voting // 2 + 1
        # A fixed K larger than the locations left would page nobody: a pager that
        # lost all but one location must still page from that one.
        return max(1, min(self.count, voting))

    def describe(self) -> str:
        """Name the quorum as the config does."""
        return "majority" if self.count == MAJORITY else str(self.count)


@dataclass(frozen=True, slots=True)
class Vote:
    """One live location's status of the check, and whether it is in a prober fault."""

    location: str
    status: LocationStatus
    faulted: bool = False

    @property
    def down(self) -> bool:
        """Tell whether this location has the check down (whatever the failure)."""
        return self.status.down is not None

    @property
    def starts(self) -> bool:
        """Tell whether this location's down status may start an outage.

        Only while its last probe failed: a location already seeing the site answer
        again does not start an outage. A location in a prober fault distrusts its
        own network: its network-level failures do not vote, but an HTTP-level
        verdict proves its network works.
        """
        last = self.status.last_result
        if not self.down or last is None or last.value == "ok":
            return False
        return not (self.faulted and last.is_network)


@dataclass(frozen=True, slots=True)
class VerdictDecision:
    """The check's verdict after a judgement, the transitions to record, and why."""

    verdict: Verdict
    transitions: tuple[Transition, ...] = ()
    reason: str = ""


def judge(
    verdict: Verdict,
    votes: Sequence[Vote],
    *,
    quorum: Quorum,
    windows: Sequence[Window],
    grace: timedelta,
    at: datetime,
) -> VerdictDecision:
    """Judge a check again after a location's state changed at `at`.

    `votes` are the live locations' statuses; `windows` the windows covering the check.
    """
    k = quorum.required(sum(1 for vote in votes if not vote.faulted))
    outage = verdict.outage
    if outage is None:
        starting = sorted(
            (vote for vote in votes if vote.starts),
            key=lambda vote: (vote.status.down.onset if vote.status.down else at, vote.location),
        )
        if len(starting) >= k:
            return _start(starting[k - 1], len(starting), k, quorum, windows, grace, at)
        return VerdictDecision(_without_outage(verdict, votes, at))
    down = sum(1 for vote in votes if vote.down)
    if down < k and any(_recovered(vote, outage.onset) for vote in votes):
        reason = f"{down} location(s) still have it down, fewer than the quorum ({k})"
        ended = Transition(TransitionKind.ENDED, at, outage, reason)
        return VerdictDecision(Verdict(State.UP, at, None), (ended,), reason)
    return tick(verdict, votes, quorum=quorum, windows=windows, grace=grace, now=at)


def tick(
    verdict: Verdict,
    votes: Sequence[Vote],
    *,
    quorum: Quorum,
    windows: Sequence[Window],
    grace: timedelta,
    now: datetime,
) -> VerdictDecision:
    """Apply the passing of time: a planned outage may overrun its window."""
    outage = verdict.outage
    if outage is None or outage.classification is not Classification.PLANNED:
        return VerdictDecision(verdict)
    window = next((w for w in windows if w.id == outage.window_id), None)
    # Without its window there is no end to grant grace after: overrun now. (A deadline
    # of now + grace would move with every tick, and the outage would never page.)
    deadline = window.end + grace if window else now
    if now < deadline:
        return VerdictDecision(verdict)
    k = quorum.required(sum(1 for vote in votes if not vote.faulted))
    withheld = any(vote.down and not vote.starts for vote in votes)
    if withheld and sum(1 for vote in votes if vote.starts) < k:
        # Its locations are in a prober fault, or already seeing the site answer again:
        # wait for their next result rather than page on a doubtful vote.
        return VerdictDecision(verdict, reason="overrun held: a prober fault or a recovery")
    reason = (
        f"still failing at {deadline.isoformat()}, the end of planned event {outage.window_id}"
        f" plus {grace} grace"
        if window
        else f"planned event {outage.window_id} no longer exists"
    )
    overrun = replace(outage, classification=Classification.OVERRUN)
    transition = Transition(TransitionKind.OVERRAN, deadline, overrun, reason)
    return VerdictDecision(Verdict(State.DOWN, deadline, overrun), (transition,), reason)


def classify(onset: datetime, windows: Sequence[Window]) -> Window | None:
    """Return the planned event an outage with this onset falls in, or None."""
    for window in windows:
        if window.is_planned_event and window.contains(onset):
            return window
    return None


def _start(
    decisive: Vote,
    voting: int,
    k: int,
    quorum: Quorum,
    windows: Sequence[Window],
    grace: timedelta,
    at: datetime,
) -> VerdictDecision:
    down = decisive.status.down
    assert down is not None
    window = classify(down.onset, windows)
    outage = Outage(
        onset=down.onset,
        symptom=down.symptom,
        classification=Classification.PLANNED if window else Classification.EMERGENCY,
        detail=down.detail,
        window_id=window.id if window else None,
    )
    where = (
        f"onset {down.onset.isoformat()} falls inside planned event {window.id}"
        if window
        else f"onset {down.onset.isoformat()} falls outside every covering planned event"
    )
    reason = f"{voting} location(s) have it down (quorum {quorum.describe()}: {k}); {where}"
    started = Transition(TransitionKind.STARTED, at, outage, reason)
    state = State.MAINTENANCE if window else State.DOWN
    decision = VerdictDecision(Verdict(state, down.onset, outage), (started,), reason)
    if window is None:
        return decision
    # The window may already be over (a late confirmation): overrun at once.
    later = tick(
        decision.verdict, [decisive], quorum=Quorum(1), windows=windows, grace=grace, now=at
    )
    return VerdictDecision(later.verdict, (started, *later.transitions), reason)


def _recovered(vote: Vote, onset: datetime) -> bool:
    """Tell whether a location has the check up again since the outage began.

    A location up since before the onset never saw the outage: it was away (its
    instances dead) and came back, raising K. That is no recovery, and must not end
    an outage that the locations that stayed have down.
    """
    status = vote.status
    return status.state is State.UP and (status.since is None or status.since >= onset)


def _without_outage(verdict: Verdict, votes: Sequence[Vote], at: datetime) -> Verdict:
    """Return the verdict of a check with no outage: `up` once any location has it up."""
    if any(vote.status.state is State.UP for vote in votes):
        return verdict if verdict.state is State.UP else Verdict(State.UP, at, None)
    return verdict
