"""What the API reads: request bodies and query strings, strict, unknown keys refused.

A typo (`"ned"` for `"end"`, `?limt=5`) is a 400 naming it, never silently ignored.
Bodies are validated strictly (a number is not a string, `"1"` is not a number);
query values are strings that the field types parse.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from sitewatch.api.bodies.fields import (
    DEFAULT_LIMIT,
    After,
    CauseName,
    CheckIds,
    CustomerId,
    Kind,
    Limit,
    Note,
    OptionalTime,
    TicketStates,
    Time,
    WindowStateFilter,
)


class RequestBody(BaseModel):
    """A JSON object the API reads: exactly these keys, each of its exact type."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Declaration(RequestBody):
    """A maintenance window to declare."""

    customer: CustomerId = Field(description="The customer the window is for.")
    kind: Kind = Field(description="What the window is for.")
    end: Time = Field(description="When it ends (exclusive).")
    start: OptionalTime = Field(None, description="When it starts; omitted or null: now.")
    checks: CheckIds = Field(
        None, description="The customer's checks it covers; omitted, null or []: all of them."
    )
    note: Note = Field(None, description="Free text for whoever reads the window.")


class WindowEnd(RequestBody):
    """A new end for a window that has not ended."""

    end: Time = Field(description="The new end; up to 60 s in the past means now.")


class Acknowledgement(RequestBody):
    """An acknowledgement of a ticket (the body may also be empty)."""

    note: Note = Field(None, description="A line for the ticket's timeline.")


class Resolution(RequestBody):
    """A ticket's resolution with its root cause."""

    cause: CauseName = Field(description="The root cause.")
    note: Note = Field(None, description="What was done.")


class Query(BaseModel):
    """A route's query string: these parameters, each at most once unless `REPEATABLE`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    REPEATABLE: ClassVar[frozenset[str]] = frozenset()


class NoQuery(Query):
    """A route that takes no query parameter."""


class Page(Query):
    """Where a list starts and how long it is."""

    limit: Limit = Field(DEFAULT_LIMIT, description="The most entries to answer.")
    after: After = Field(
        None, description="Continue a list: the `next` of the previous page, as it was given."
    )


class WindowQuery(Page):
    """`GET /api/v1/maintenance`."""

    state: WindowStateFilter = Field(None, description="Only windows in this state now.")


class TicketQuery(Page):
    """`GET /api/v1/tickets`."""

    REPEATABLE: ClassVar[frozenset[str]] = frozenset({"state"})

    state: TicketStates = Field(
        None,
        description="Only tickets in exactly these states (comma-separated, or repeated).",
    )


class StatsQuery(Query):
    """`GET /api/v1/stats`."""

    since: OptionalTime = Field(
        None, description="Start of the period (default: 30 days before until)."
    )
    until: OptionalTime = Field(None, description="End of the period (default: now).")
