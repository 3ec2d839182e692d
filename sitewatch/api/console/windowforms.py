"""The window forms: what was typed, read into the desk's requests, errors by field.

A form that cannot become a request (an unknown kind, a time that is not a time)
keeps what was typed and says what is wrong next to its field; one that can is
decided by the window desk, whose `Rejection.field` places its message the same
way. The rules themselves live in `outages.windows`: nothing here duplicates them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sitewatch.api.console.times import parse_local
from sitewatch.api.console.visit import Visit
from sitewatch.model import MaintenanceKind, Window
from sitewatch.outages.windows import Declaration, Rejection

GENERAL = ""
"""The errors key of a message about the form as a whole (shown by its button)."""
EXTENSIONS = {"30m": timedelta(minutes=30), "1h": timedelta(hours=1), "2h": timedelta(hours=2)}
"""The quick "extend by" buttons of a window's page."""


@dataclass
class DeclareForm:
    """The declaration form as typed, and what is wrong with it by field."""

    customer: str
    kind: str = MaintenanceKind.SOFTWARE_UPGRADE.value
    checks: list[str] = field(default_factory=list)
    start: str = ""
    end: str = ""
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    utc: dict[str, str] = field(default_factory=dict)
    """The typed start and end in UTC, shown beside them once the form comes back."""


def typed_declaration(visit: Visit, customer: str) -> DeclareForm:
    """Return the declaration form as the visitor posted it."""
    return DeclareForm(
        customer=customer,
        kind=visit.value("kind"),
        checks=visit.values("checks"),
        start=visit.value("start"),
        end=visit.value("end"),
        note=visit.value("note"),
    )


def read_declaration(form: DeclareForm, zone: ZoneInfo) -> Declaration | None:
    """Turn the typed form into a declaration, or note each problem by field and return None."""
    if form.kind not in {k.value for k in MaintenanceKind}:
        kinds = ", ".join(k.value for k in MaintenanceKind)
        form.errors["kind"] = f"choose a kind: one of {kinds}"
    start = None
    if form.start.strip():
        parsed = parse_local(form.start, zone)
        if isinstance(parsed, str):
            form.errors["start"] = parsed
        else:
            start = parsed
            form.utc["start"] = f"{parsed:%Y-%m-%d %H:%M} UTC"
    end = None
    if not form.end.strip():
        form.errors["end"] = "end is required: when the work will be over"
    else:
        parsed = parse_local(form.end, zone)
        if isinstance(parsed, str):
            form.errors["end"] = parsed
        else:
            end = parsed
            form.utc["end"] = f"{parsed:%Y-%m-%d %H:%M} UTC"
    if form.errors or end is None:
        return None
    return Declaration(
        customer=form.customer,
        checks=tuple(form.checks),
        kind=MaintenanceKind(form.kind),
        start=start,
        end=end,
        note=form.note,
    )


def place(rejection: Rejection, errors: dict[str, str]) -> None:
    """Put a desk's rejection next to the field it concerns (or the form's button)."""
    errors[rejection.field.value if rejection.field else GENERAL] = rejection.message


def requested_end(visit: Visit, window: Window, zone: ZoneInfo) -> datetime | str:
    """Read the end a window's end form asks for: now, end + an extension, or a typed time."""
    if visit.value("end_now"):
        return visit.now
    extension = EXTENSIONS.get(visit.value("extend"))
    if extension is not None:
        return window.end + extension
    typed = visit.value("end")
    if not typed.strip():
        return "give the new end, or use a button"
    return parse_local(typed, zone)
