"""Escalation rules: which page rounds a ticket is due at a moment, purely.

Each level's `after` counts from the ticket's opening; reaching a level pages its
targets (round 0); `repeat_every` re-pages the highest level reached so far, round
n at `reached + n * repeat_every`, until a higher level is reached. Nothing is due
once the ticket is acknowledged or resolved, or the site has recovered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sitewatch.model import TicketState
from sitewatch.model.durations import format_duration


@dataclass(frozen=True, slots=True)
class Level:
    """Whom to page once a ticket has been open for `after`."""

    after: timedelta
    targets: tuple[str, ...]
    """Operator ids (and schedule ids, once a resolver knows them)."""


@dataclass(frozen=True, slots=True)
class Round:
    """One page round due: level `level`, its `round`-th page (0 = reaching it)."""

    level: int
    round: int
    due_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class EscalationDecision:
    """The rounds due now (all of them since the opening), or why there are none."""

    rounds: tuple[Round, ...]
    reason: str


def due_rounds(
    *,
    opened_at: datetime,
    state: TicketState,
    recovered_at: datetime | None,
    levels: Sequence[Level],
    repeat_every: timedelta,
    now: datetime,
) -> EscalationDecision:
    """Return the page rounds a ticket is due at `now`, each with its reason.

    Every level reached so far is listed with its round 0, so a caller that plans
    each `(level, round)` once may call this as often as it likes. Of the repeats,
    only the latest is listed: one missed while sitewatch was stopped is superseded
    by the next rather than sent late.
    """
    if state is TicketState.ACKNOWLEDGED:
        return EscalationDecision((), "acknowledged: escalation stopped")
    if state is TicketState.RESOLVED:
        return EscalationDecision((), "resolved: escalation stopped")
    if recovered_at is not None:
        return EscalationDecision((), f"the site recovered at {recovered_at.isoformat()}")
    open_for = now - opened_at
    reached = [i for i, level in enumerate(levels) if level.after <= open_for]
    if not reached:
        return EscalationDecision((), _not_yet(levels, open_for))
    rounds = [
        Round(
            i,
            0,
            opened_at + levels[i].after,
            f"open for {format_duration(open_for)}; level {i} starts after "
            f"{format_duration(levels[i].after)}",
        )
        for i in reached
    ]
    repeat = _latest_repeat(reached[-1], levels, opened_at, repeat_every, now)
    if repeat is not None:
        rounds.append(repeat)
    return EscalationDecision(tuple(rounds), f"{len(reached)} of {len(levels)} levels reached")


def _latest_repeat(
    highest: int,
    levels: Sequence[Level],
    opened_at: datetime,
    repeat_every: timedelta,
    now: datetime,
) -> Round | None:
    if repeat_every <= timedelta(0):
        return None
    reached_at = opened_at + levels[highest].after
    count = (now - reached_at) // repeat_every
    if count < 1:
        return None
    return Round(
        highest,
        count,
        reached_at + count * repeat_every,
        f"unacknowledged: level {highest} is paged again every "
        f"{format_duration(repeat_every)} (repeat {count})",
    )


def _not_yet(levels: Sequence[Level], open_for: timedelta) -> str:
    if not levels:
        return "no escalation levels are configured"
    return (
        f"open for {format_duration(open_for)}; the first level starts after "
        f"{format_duration(levels[0].after)}"
    )
