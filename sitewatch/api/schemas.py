"""The JSON schemas of the API's bodies, for the OpenAPI document (`api/openapi.py`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sitewatch.model import (
    Cause,
    Classification,
    MaintenanceKind,
    ResultKind,
    State,
    TicketState,
    WindowState,
)

Schema = dict[str, Any]


def enum(values: type[StrEnum], *, nullable: bool = False) -> Schema:
    schema: Schema = {"type": ["string", "null"] if nullable else "string"}
    schema["enum"] = [v.value for v in values] + ([None] if nullable else [])
    return schema


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: dict[str, Schema], optional: dict[str, Schema] | None = None) -> Schema:
    """An object with exactly these keys: the API rejects unknown ones in requests."""
    return {
        "type": "object",
        "required": list(required),
        "properties": required | (optional or {}),
        "additionalProperties": False,
    }


TIME: Schema = {"type": "string", "format": "date-time"}
NEXT: Schema = {
    "type": "string",
    "description": "More entries exist: pass this as `after` to get the next page.",
}
NULLABLE_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
TEXT: Schema = {"type": "string"}
NULLABLE_TEXT: Schema = {"type": ["string", "null"]}


def schemas() -> dict[str, Schema]:
    window = {
        "id": TEXT,
        "customer": TEXT,
        "checks": {"type": "array", "items": TEXT},
        "kind": enum(MaintenanceKind),
        "start": TIME,
        "end": TIME,
        "note": TEXT,
        "state": enum(WindowState),
        "declared_at": TIME,
        "declared_by": TEXT,
        "cancelled_at": NULLABLE_TIME,
    }
    ticket = {
        "id": TEXT,
        "check": TEXT,
        "customer": TEXT,
        "state": enum(TicketState),
        "classification": enum(Classification),
        "symptom": enum(ResultKind),
        "detail": TEXT,
        "onset_at": TIME,
        "opened_at": TIME,
        "acknowledged_at": NULLABLE_TIME,
        "acknowledged_by": NULLABLE_TEXT,
        "recovered_at": NULLABLE_TIME,
        "resolved_at": NULLABLE_TIME,
        "resolved_by": NULLABLE_TEXT,
        "cause": enum(Cause, nullable=True),
        "resolution_note": TEXT,
    }
    note = {"note": {"type": ["string", "null"], "maxLength": 2000}}
    return {
        "Error": _object({"error": TEXT}),
        "Health": _object({"status": {"const": "ok"}}),
        "Check": _object(
            {
                "id": TEXT,
                "customer": TEXT,
                "name": TEXT,
                "state": enum(State),
                "since": NULLABLE_TIME,
                "last_result": enum(ResultKind, nullable=True),
                "last_result_at": NULLABLE_TIME,
                "locations": {
                    "type": "object",
                    "additionalProperties": ref("LocationState"),
                    "description": "Each location's own view of the check, by location name.",
                },
            }
        ),
        "LocationState": _object(
            {
                "state": enum(State),
                "since": NULLABLE_TIME,
                "last_result": enum(ResultKind, nullable=True),
                "last_result_at": NULLABLE_TIME,
            }
        ),
        "CheckList": _object({"checks": {"type": "array", "items": ref("Check")}}),
        "Window": _object(window),
        "WindowChange": _object(
            {
                "at": TIME,
                "by": TEXT,
                "action": {"enum": ["declared", "changed", "cancelled"]},
                "detail": TEXT,
            }
        ),
        "WindowDetail": _object(
            window | {"history": {"type": "array", "items": ref("WindowChange")}}
        ),
        "WindowList": _object(
            {"maintenance": {"type": "array", "items": ref("Window")}}, {"next": NEXT}
        ),
        "Declaration": _object(
            {
                "customer": {"type": "string", "minLength": 1},
                "kind": enum(MaintenanceKind),
                "end": TIME,
            },
            {
                "checks": {"type": ["array", "null"], "items": TEXT},
                "start": NULLABLE_TIME,
                **note,
            },
        ),
        "WindowEnd": _object({"end": TIME}),
        "TicketEvent": _object({"at": TIME, "kind": TEXT, "by": TEXT, "detail": TEXT}),
        "Ticket": _object(ticket),
        "TicketDetail": _object(
            ticket | {"events": {"type": "array", "items": ref("TicketEvent")}}
        ),
        "TicketList": _object(
            {"tickets": {"type": "array", "items": ref("Ticket")}}, {"next": NEXT}
        ),
        "Acknowledgement": _object({}, note),
        "Resolution": _object({"cause": enum(Cause)}, note),
        "Stats": {
            "type": "object",
            "description": "Outage statistics of the period; see docs/api.md for every key.",
            "properties": {
                "customers": {"type": "integer"},
                "customers_affected": {"type": "integer"},
                "customers_affected_ratio": {"type": "number", "minimum": 0, "maximum": 1},
                "outages": {
                    "type": "object",
                    "properties": {c.value: {"type": "integer"} for c in Classification},
                },
                "by_cause": {"type": "object", "additionalProperties": {"type": "integer"}},
                "mtta_seconds": {"type": ["number", "null"]},
                "mttr_seconds": {"type": ["number", "null"]},
                "availability": {
                    "type": "object",
                    "additionalProperties": {"type": ["number", "null"]},
                },
            },
        },
    }
