"""Outages: each check's remembered status, confirmed outages and their transitions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sitewatch.model.checks import ResultKind, State


class Classification(StrEnum):
    """How an outage counts: paged, planned, or a planned event that ran over."""

    EMERGENCY = "emergency"
    """Onset outside every covering window: a ticket and pages."""
    OVERRUN = "overrun"
    """Onset inside a window, still failing at its end plus grace: a ticket and pages."""
    PLANNED = "planned"
    """Onset inside a covering window declared before it started: no ticket, no page."""


@dataclass(frozen=True, slots=True)
class OutageRecord:
    """A stored outage, for statistics: planned ones included."""

    check: str
    customer: str
    onset_at: datetime
    classification: Classification
    symptom: ResultKind
    window_id: str | None
    overrun_at: datetime | None
    recovered_at: datetime | None
    ticket_id: str | None


@dataclass(frozen=True, slots=True)
class Outage:
    """A confirmed outage of one check; `(check, onset)` identifies it for good."""

    onset: datetime
    symptom: ResultKind
    classification: Classification
    detail: str = ""
    window_id: str | None = None
    """The planned event its onset fell in (kept when it overruns)."""


@dataclass(frozen=True, slots=True)
class LocationDown:
    """A location's confirmed failure of a check: `confirm` failed probes in a row."""

    onset: datetime
    """The first failure of the streak that was confirmed."""
    symptom: ResultKind
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LocationStatus:
    """What one location remembers about one check between results.

    Every location judges every check by the usual `confirm` and `recover` counts;
    the check's own state (`Verdict`) follows from all of them and the quorum.
    `version` grows at every write: a writer that read an older version lost a race.
    """

    state: State = State.UNKNOWN
    """`unknown` until the first judgement, then `up` or `down` (never `maintenance`)."""
    since: datetime | None = None
    failures: int = 0
    """Consecutive failed probes."""
    successes: int = 0
    """Consecutive ok probes."""
    streak_onset: datetime | None = None
    """When the current failure streak began: the onset if it is confirmed."""
    streak_symptom: ResultKind | None = None
    streak_detail: str = ""
    down: LocationDown | None = None
    """Set while this location has the check down (from confirmation to recovery)."""
    last_result: ResultKind | None = None
    last_result_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    """The check's state, decided from every location's status and the quorum."""

    state: State = State.UNKNOWN
    since: datetime | None = None
    outage: Outage | None = None
    """The open outage, from its confirmation to its end."""


class TransitionKind(StrEnum):
    """What happened to an outage."""

    STARTED = "started"
    """Confirmed by the quorum of locations (planned or emergency)."""
    OVERRAN = "overran"
    """A planned outage outlasted its window plus grace: now an emergency."""
    ENDED = "ended"
    """Too few locations still have it down for the quorum: the site is back."""


@dataclass(frozen=True, slots=True)
class Transition:
    """One outage event to persist and act on, with the reason for it."""

    kind: TransitionKind
    at: datetime
    outage: Outage
    reason: str
