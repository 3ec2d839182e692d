"""Field types the API's bodies share, each validating with the sentence a 400 answers.

A validator raises `problem(sentence)`: the sentence names the field, the bad value
(cut short: a body may hold 64 KiB) and what would be accepted. `Missing` carries what
`KEY is required` goes on to say when a required field is left out; the validators
say the same of `null`. Strictness and unknown keys are put into words by
`bodies.problems`.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, TypeVar

from pydantic import BeforeValidator, Field, InstanceOf, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from sitewatch.model import Cause, MaintenanceKind, TicketState, WindowState
from sitewatch.outages.windows import MAX_NOTE
from sitewatch.storage import Cursor

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_CHECKS = 1000
"""The most check ids a window may name (more: name none, and it covers them all)."""
MAX_CURSOR = 200
TIME_EXAMPLE = "2026-11-26T10:00:00Z"

E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class Missing:
    """What `KEY is required` goes on to say when a required field is left out."""

    hint: str


def problem(message: str) -> PydanticCustomError:
    """Return the error a validator raises: `message` is the whole answer of the 400."""
    return PydanticCustomError("sitewatch", "{message}", {"message": message})


def shown(value: object) -> str:
    """Show a bad value in a message: a scalar's repr, cut short; only what a container is."""
    if isinstance(value, list):
        return "[...]"
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return "a number of over 40 digits"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def choices(values: type[StrEnum]) -> str:
    """List an enum's values for a message: `a, b, c`."""
    return ", ".join(v.value for v in values)


def member(values: type[E], value: object) -> E | None:
    """Return the member whose value is `value`, or None (any other input, any type)."""
    # Not `value in values`: Python 3.11 raises TypeError for a non-member.
    return next((v for v in values if v.value == value), None) if isinstance(value, str) else None


def _key(info: ValidationInfo) -> str:
    return info.field_name or "value"


# Times: ISO 8601 with an offset in, UTC out (pydantic writes UTC as `Z`).

TIME_HINT = " (ISO 8601 with an offset)"
_BIG_YEAR = re.compile(r"[+-]?\d{5,}-")
"""A year of five digits or more: `datetime` cannot hold it (`20261126T1000Z` is a time)."""


def _time(value: object, info: ValidationInfo) -> datetime:
    key = _key(info)
    if value is None:
        raise problem(f"{key} is required{TIME_HINT}")
    if isinstance(value, datetime):
        parsed = value
    elif not isinstance(value, str):
        raise problem(f"{key} must be an ISO 8601 time string such as {TIME_EXAMPLE}")
    elif _BIG_YEAR.match(value):
        raise problem(f"{key}: {shown(value)} is out of range: years run from 0001 to 9999")
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise problem(
                f"{key}: {shown(value)} is not an ISO 8601 time such as {TIME_EXAMPLE}"
            ) from None
    if parsed.tzinfo is None:
        raise problem(f"{key}: {shown(value)} has no offset; add Z or +01:00")
    try:
        # In UTC from here on: stored, compared and shown alike.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise problem(f"{key}: {shown(value)} is out of range") from None


def _optional_time(value: object, info: ValidationInfo) -> datetime | None:
    return None if value is None else _time(value, info)


Time = Annotated[datetime, Missing(TIME_HINT), BeforeValidator(_time)]
OptionalTime = Annotated[datetime | None, BeforeValidator(_optional_time)]


# Free text: notes. Lone surrogates cannot be stored as UTF-8 and control characters
# would reach terminals and pages; tab and line breaks are text.

_NOT_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
TEXT_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]*$"


def _note(value: object, info: ValidationInfo) -> str | None:
    key = _key(info)
    if value is None:
        return None
    if not isinstance(value, str):
        raise problem(f"{key} must be a string")
    if len(value) > MAX_NOTE:
        # The timeline is read on a phone: keep each line readable and the row small.
        raise problem(f"{key} is longer than {MAX_NOTE} characters")
    bad = _NOT_TEXT.search(value)
    if bad is not None:
        char = ord(bad.group())
        what = (
            f"a lone surrogate (U+{char:04X}), half of a UTF-16 pair and not a character"
            if char >= 0xD800
            else f"the control character U+{char:04X}; only tab and line breaks may be used"
        )
        raise problem(f"{key} holds {what} (at character {bad.start()})")
    return value


Note = Annotated[
    Annotated[str, Field(max_length=MAX_NOTE, pattern=TEXT_PATTERN)] | None,
    BeforeValidator(_note),
]


# Ids and closed sets.

CUSTOMER_HINT = ": the id of the customer the window is for"


def _customer(value: object) -> str:
    if value is None or value == "":
        raise problem(f"customer is required{CUSTOMER_HINT}")
    if not isinstance(value, str):
        raise problem(f"customer must be a string{CUSTOMER_HINT}")
    return value


CustomerId = Annotated[str, Field(min_length=1), Missing(CUSTOMER_HINT), BeforeValidator(_customer)]


def _checks(value: object) -> list[str] | None:
    if value is None:
        return None
    if not (isinstance(value, list) and all(isinstance(c, str) for c in value)) or (
        len(value) > MAX_CHECKS
    ):
        raise problem(
            f"checks must be a list of check ids (omit it for all checks), at most {MAX_CHECKS}"
        )
    return value


CheckIds = Annotated[
    Annotated[list[str], Field(max_length=MAX_CHECKS)] | None, BeforeValidator(_checks)
]

KIND_HINT = f": use one of {choices(MaintenanceKind)}"


def _kind(value: object) -> MaintenanceKind:
    if value is None:
        raise problem(f"kind is required{KIND_HINT}")
    found = member(MaintenanceKind, value)
    if found is None:
        raise problem(f"kind {shown(value)} is not a kind{KIND_HINT}")
    return found


Kind = Annotated[MaintenanceKind, Missing(KIND_HINT), BeforeValidator(_kind)]

CAUSE_HINT = f", one of {choices(Cause)}"


def _cause(value: object) -> Cause:
    found = member(Cause, value)
    if found is None:
        got = "" if value is None else f"; got {shown(value)}"
        raise problem(f"cause is required{CAUSE_HINT}{got}")
    return found


CauseName = Annotated[Cause, Missing(CAUSE_HINT), BeforeValidator(_cause)]


# Query parameters: strings from the URL.


def _window_state(value: object) -> WindowState | None:
    if value is None:
        return None
    found = member(WindowState, value)
    if found is None:
        raise problem(f"state must be one of {choices(WindowState)}")
    return found


WindowStateFilter = Annotated[WindowState | None, BeforeValidator(_window_state)]


def _ticket_states(value: object) -> list[TicketState] | None:
    """Read `state=open,acknowledged` (the key may repeat): exactly these states."""
    if value is None:
        return None
    raw = value if isinstance(value, list) else [value]
    parts = [part.strip() for item in raw for part in str(item).split(",")]
    if not any(parts):
        raise problem(f"state lists no state; give one or more of {choices(TicketState)}")
    states = {part: member(TicketState, part) for part in parts if part}
    for part, state in states.items():
        if state is None:
            raise problem(
                f"state {shown(part)} is unknown; use one or more of {choices(TicketState)}"
            )
    return [state for state in states.values() if state is not None]


TicketStates = Annotated[
    Annotated[list[TicketState], Field(min_length=1)] | None, BeforeValidator(_ticket_states)
]


def _limit(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_LIMIT:
        return value
    text = value if isinstance(value, str) else ""
    # Not str.isdigit() alone: it accepts "²", which int() then refuses.
    if not (text.isascii() and text.isdigit() and len(text) <= 4) or not (
        1 <= int(text) <= MAX_LIMIT
    ):
        raise problem(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {shown(value)}")
    return int(text)


Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT), BeforeValidator(_limit)]


def format_cursor(cursor: Cursor) -> str:
    """Return the opaque `after` value of the next page of a list."""
    raw = f"{cursor.at.timestamp():.6f}|{cursor.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _cursor(value: object) -> Cursor | None:
    if value is None:
        return None
    bad = problem("after must be the `next` value of a previous page, as given")
    if not isinstance(value, str) or len(value) > MAX_CURSOR or not value.isascii():
        raise bad
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        stamp, _, item = text.partition("|")
        at = datetime.fromtimestamp(float(stamp), UTC)
    except (ValueError, OverflowError, OSError, UnicodeDecodeError):
        raise bad from None
    if not item or not item.isprintable():
        raise bad
    return Cursor(at, item)


After = Annotated[
    InstanceOf[Cursor] | None,
    BeforeValidator(_cursor),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": MAX_CURSOR}),
]
