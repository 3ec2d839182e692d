"""The vocabulary of paging: page kinds and states, outbox rows, targets, deliveries.

No I/O here. The store persists `PageRow`s and reads back `Page`s; the planner makes
rows; the dispatcher turns a `Delivery` into a stored outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class PageKind(StrEnum):
    """What a page says; its title starts with the matching prefix (contract)."""

    SITE_DOWN = "site_down"
    """The first page of a ticket."""
    STILL_DOWN = "still_down"
    """A later escalation level, or a repeat of the highest level reached."""
    RECOVERED = "recovered"
    """The site is back; to everyone paged for the ticket."""
    RESOLVED = "resolved"
    """An operator resolved the ticket; to everyone paged for it."""
    PROBER_FAULT = "prober_fault"
    """Most checks fail at the network level at once: probably sitewatch's own network."""
    PROBER_OK = "prober_ok"
    """The prober fault has cleared."""
    TICKET_OPENED = "ticket_opened"
    """A ticket webhook call: the ticket was opened."""
    TICKET_ACKNOWLEDGED = "ticket_acknowledged"
    """A ticket webhook call: an operator acknowledged the ticket."""
    TICKET_RECOVERED = "ticket_recovered"
    """A ticket webhook call: the site is back."""
    TICKET_RESOLVED = "ticket_resolved"
    """A ticket webhook call: an operator resolved the ticket with a cause."""
    TICKET_ESCALATED = "ticket_escalated"
    """A ticket webhook call: a level was paged again, or a higher level reached."""

    @property
    def prefix(self) -> str:
        """Return the title prefix: `SITE DOWN`, `STILL DOWN`, `RECOVERED`, ..."""
        return self.value.replace("_", " ").upper()

    @property
    def event(self) -> str | None:
        """Return the ticket webhook's event name (`opened`, ...), or None for a page."""
        return self.value.removeprefix("ticket_") if self.value.startswith("ticket_") else None

    @property
    def escalates(self) -> bool:
        """Tell whether this page asks for action (and stops once someone acts)."""
        return self in (PageKind.SITE_DOWN, PageKind.STILL_DOWN)


class PageState(StrEnum):
    """Where one row of the outbox stands."""

    PENDING = "pending"
    """Not yet delivered: due at `next_attempt_at` (again, after a failed attempt)."""
    SENT = "sent"
    """Apprise accepted it."""
    UNDELIVERABLE = "undeliverable"
    """Given up after `paging.max_attempts` (or a permanent failure): sent to the fallback."""
    CANCELLED = "cancelled"
    """Not sent: the ticket was acknowledged or resolved before it went out."""


FALLBACK = ""
"""The `operator` of a row addressed to a fallback channel (`paging.fallback`)."""
WEBHOOK = "#webhook"
"""The `operator` of a row addressed to a ticket webhook (`ticket_webhooks`); no
operator id can take this form."""


class Target(NamedTuple):
    """One place a page goes: an operator's notify URL by its index in the config."""

    operator: str
    url_index: int

    def describe(self) -> str:
        """Name the target for logs and timelines, never showing the URL itself."""
        if self.operator == FALLBACK:
            return f"the fallback channel (notify #{self.url_index + 1})"
        if self.operator == WEBHOOK:
            return f"ticket webhook #{self.url_index + 1}"
        return f"{self.operator} (notify #{self.url_index + 1})"


def ticket_subject(ticket_id: str) -> str:
    """Return the outbox subject of a ticket's pages."""
    return f"ticket/{ticket_id}"


def fault_subject(episode: str) -> str:
    """Return the outbox subject of one prober fault episode's pages."""
    return f"prober-fault/{episode}"


def fallback_subject(page_id: int) -> str:
    """Return the outbox subject of the fallback copies of one undeliverable page."""
    return f"fallback/{page_id}"


@dataclass(frozen=True, slots=True)
class PageRow:
    """One page to one target, as the planner makes it and the outbox stores it.

    `(subject, kind, level, round, operator, url_index)` is unique in the outbox:
    inserting the same row twice inserts it once.
    """

    subject: str
    kind: PageKind
    operator: str
    url_index: int
    title: str
    body: str = field(repr=False)
    due_at: datetime
    ticket_id: str | None = None
    level: int = 0
    round: int = 0
    reason: str = ""
    """Why this page is due (kept in the outbox, shown in the ticket's timeline)."""

    @property
    def target(self) -> Target:
        """Return where this page goes."""
        return Target(self.operator, self.url_index)

    @property
    def key(self) -> str:
        """Return the page's stable key: the same for every attempt and every instance.

        Channels that deduplicate (PagerDuty `dedup_key`, Opsgenie `alias`) are given
        it, so that a page repeated across a crash is shown once.
        """
        target = f"{self.operator or 'fallback'}:{self.url_index}"
        return f"sitewatch:{self.subject}:{self.kind.value}:{self.level}:{self.round}:{target}"


@dataclass(frozen=True, slots=True)
class Page:
    """A stored row of the outbox, with its delivery state."""

    id: int
    row: PageRow
    state: PageState
    attempts: int
    next_attempt_at: datetime
    last_error: str = ""
    sent_at: datetime | None = None
    onset_at: datetime | None = None
    """The onset of the ticket's outage (for `sitewatch_detection_seconds`)."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """How one attempt to send a page went; expected failures are values, not raises."""

    ok: bool
    error: str = ""
    """Why it failed, already redacted; empty when ok."""
    permanent: bool = False
    """Retrying cannot help (the target is no longer configured): give up at once."""


@dataclass(frozen=True, slots=True)
class DeliveryDecision:
    """What to store after an attempt: the new state, when to try again, and why."""

    state: PageState
    attempts: int
    next_attempt_at: datetime
    error: str
    reason: str

    @property
    def gives_up(self) -> bool:
        """Tell whether the page is now undeliverable (and goes to the fallback)."""
        return self.state is PageState.UNDELIVERABLE


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """What recording an outcome found out."""

    recorded: bool
    """False when the row was no longer pending (recorded before): nothing changed."""
    first_page_of_ticket: bool = False
    """This was the first page of its ticket to be sent (detection time ends here)."""
