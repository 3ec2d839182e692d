"""What the API answers: every body as a model, built from the domain's records.

Every key is always present (`null` when there is no value), except `next`, which a
list carries only when more entries exist. Times are UTC with `Z`; ids are strings.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from sitewatch.api.bodies.fields import OptionalTime, Time
from sitewatch.model import (
    Cause,
    Classification,
    MaintenanceKind,
    ResultKind,
    State,
    Ticket,
    TicketState,
    Window,
    WindowChange,
    WindowState,
)
from sitewatch.outages.board import CheckView


class ResponseBody(BaseModel):
    """A JSON object the API answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def encoded(self) -> str:
        """Return the body as JSON text."""
        return self.model_dump_json()


class ErrorBody(ResponseBody):
    """Every 4xx answer: one human-readable sentence."""

    error: str = Field(description="What is wrong, naming the field and what is accepted.")


class Health(ResponseBody):
    """`/healthz` while every loop is alive and the database answers."""

    status: Literal["ok"]


class Unhealthy(ResponseBody):
    """`/healthz` when something is wrong (503)."""

    status: Literal["unhealthy"]
    problems: list[str]


class LocationState(ResponseBody):
    """One location's own view of a check."""

    state: State
    since: OptionalTime
    last_result: ResultKind | None
    last_result_at: OptionalTime


class CheckBody(ResponseBody):
    """A check: the verdict of all locations, and each location's view."""

    id: str
    customer: str
    name: str
    state: State
    since: OptionalTime
    last_result: ResultKind | None
    last_result_at: OptionalTime
    locations: dict[str, LocationState] = Field(
        description="Each location's own view of the check, by location name."
    )

    @classmethod
    def of(cls, view: CheckView) -> CheckBody:
        """Describe one check as committed."""
        last, last_at = view.last
        return cls(
            id=view.spec.id,
            customer=view.spec.customer,
            name=view.spec.name,
            state=view.verdict.state,
            since=view.verdict.since,
            last_result=last,
            last_result_at=last_at,
            locations={
                location: LocationState(
                    state=status.state,
                    since=status.since,
                    last_result=status.last_result,
                    last_result_at=status.last_result_at,
                )
                for location, status in sorted(view.locations.items())
            },
        )


class Listing(ResponseBody):
    """A body whose one big part is a list of entries (`ITEMS` names it)."""

    ITEMS: ClassVar[str]

    def encoded(self) -> str:
        """Return the body as JSON text, encoding one entry at a time.

        One call to encode a whole list of 10,000 checks would hold the interpreter
        lock for ~0.1 s at once; entry by entry, a thread encoding it yields the lock
        to the event loop every few milliseconds (`common.respond_listing`).
        """
        entries = ",".join(entry.model_dump_json() for entry in getattr(self, self.ITEMS))
        return f'{{"{self.ITEMS}":[{entries}]{self._tail()}}}'

    def _tail(self) -> str:
        return ""


class CheckList(Listing):
    """`GET /api/v1/checks`."""

    ITEMS: ClassVar[str] = "checks"

    checks: list[CheckBody]


NextPage = Annotated[
    str | None,
    WithJsonSchema(
        {
            "type": "string",
            "description": "More entries exist: pass this as `after` to get the next page.",
        }
    ),
]


class ListPage(Listing):
    """A page of a list: `next` only when more entries exist."""

    next: NextPage = None

    def _tail(self) -> str:
        return "" if self.next is None else f',"next":{json.dumps(self.next)}'


class WindowBody(ResponseBody):
    """A maintenance window, its state as of now."""

    id: str
    customer: str
    checks: list[str] = Field(description="The checks it covers; empty: all the customer's.")
    kind: MaintenanceKind
    start: Time
    end: Time
    note: str
    state: WindowState
    declared_at: Time
    declared_by: str = Field(description="`customer:ID`, `operator:ID`, or `config`.")
    cancelled_at: OptionalTime

    @classmethod
    def fields_of(cls, window: Window, now: datetime) -> dict[str, object]:
        """Return the fields of a window as of `now`."""
        return {
            "id": window.id,
            "customer": window.customer,
            "checks": list(window.checks),
            "kind": window.kind,
            "start": window.start,
            "end": window.end,
            "note": window.note,
            "state": window.state(now),
            "declared_at": window.declared_at,
            "declared_by": window.declared_by,
            "cancelled_at": window.cancelled_at,
        }

    @classmethod
    def of(cls, window: Window, now: datetime) -> WindowBody:
        """Describe a window as of `now`."""
        return cls.model_validate(cls.fields_of(window, now))


class WindowChangeBody(ResponseBody):
    """One line of a window's audit trail."""

    at: Time
    by: str
    action: Literal["declared", "changed", "cancelled"]
    detail: str


class WindowDetail(WindowBody):
    """A window with its audit trail."""

    history: list[WindowChangeBody]

    @classmethod
    def with_history(
        cls, window: Window, changes: list[WindowChange], now: datetime
    ) -> WindowDetail:
        """Describe a window as of `now`, with who did what to it."""
        history = [
            WindowChangeBody.model_validate(
                {"at": c.at, "by": c.by, "action": c.action, "detail": c.detail}
            )
            for c in changes
        ]
        return cls.model_validate(cls.fields_of(window, now) | {"history": history})


class WindowList(ListPage):
    """`GET /api/v1/maintenance`."""

    ITEMS: ClassVar[str] = "maintenance"

    maintenance: list[WindowBody]


class TicketEventBody(ResponseBody):
    """One line of a ticket's timeline."""

    at: Time
    kind: str
    by: str
    detail: str


class TicketBody(ResponseBody):
    """An emergency ticket, without its timeline."""

    id: str
    check: str
    customer: str
    state: TicketState
    classification: Classification
    symptom: ResultKind
    detail: str
    onset_at: Time
    opened_at: Time
    acknowledged_at: OptionalTime
    acknowledged_by: str | None
    recovered_at: OptionalTime
    resolved_at: OptionalTime
    resolved_by: str | None
    cause: Cause | None
    resolution_note: str

    @classmethod
    def fields_of(cls, ticket: Ticket) -> dict[str, object]:
        """Return the fields of a ticket, its timeline aside."""
        return {name: getattr(ticket, name) for name in TicketBody.model_fields}

    @classmethod
    def of(cls, ticket: Ticket) -> TicketBody:
        """Describe a ticket without its timeline (lists)."""
        return cls.model_validate(cls.fields_of(ticket))


class TicketDetail(TicketBody):
    """A ticket with its timeline."""

    events: list[TicketEventBody]

    @classmethod
    def of(cls, ticket: Ticket) -> TicketDetail:
        """Describe a ticket with its timeline."""
        events = [
            TicketEventBody(at=e.at, kind=e.kind, by=e.by, detail=e.detail) for e in ticket.events
        ]
        return cls.model_validate(cls.fields_of(ticket) | {"events": events})


class TicketList(ListPage):
    """`GET /api/v1/tickets`."""

    ITEMS: ClassVar[str] = "tickets"

    tickets: list[TicketBody]
