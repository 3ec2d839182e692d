"""The OpenAPI 3.1 document of the HTTP API, built from the domain enums so it cannot drift.

`tests/test_api_openapi.py` checks that every registered route is documented and
every documented route registered; `tests/test_api_schemathesis.py` fuzzes the
running service against this document.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from aiohttp import web

from sitewatch import __version__
from sitewatch.api.common import MAX_BODY_BYTES, MAX_LIMIT
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

ERROR_ANSWERS = {
    "400": "Invalid input: the message says which field and why.",
    "401": "Missing or unknown bearer token.",
    "403": "The token may not do this (another customer's data, or an operator-only route).",
    "404": "No such id (whatever its form).",
    "409": "The change conflicts with the current state (the message says which).",
    "413": f"The request body is larger than {MAX_BODY_BYTES} bytes.",
}


def _enum(values: type[StrEnum], *, nullable: bool = False) -> Schema:
    schema: Schema = {"type": ["string", "null"] if nullable else "string"}
    schema["enum"] = [v.value for v in values] + ([None] if nullable else [])
    return schema


def _ref(name: str) -> Schema:
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
NULLABLE_TIME: Schema = {"type": ["string", "null"], "format": "date-time"}
TEXT: Schema = {"type": "string"}
NULLABLE_TEXT: Schema = {"type": ["string", "null"]}


def _schemas() -> dict[str, Schema]:
    window = {
        "id": TEXT,
        "customer": TEXT,
        "checks": {"type": "array", "items": TEXT},
        "kind": _enum(MaintenanceKind),
        "start": TIME,
        "end": TIME,
        "note": TEXT,
        "state": _enum(WindowState),
        "declared_at": TIME,
        "declared_by": TEXT,
        "cancelled_at": NULLABLE_TIME,
    }
    ticket = {
        "id": TEXT,
        "check": TEXT,
        "customer": TEXT,
        "state": _enum(TicketState),
        "classification": _enum(Classification),
        "symptom": _enum(ResultKind),
        "detail": TEXT,
        "onset_at": TIME,
        "opened_at": TIME,
        "acknowledged_at": NULLABLE_TIME,
        "acknowledged_by": NULLABLE_TEXT,
        "recovered_at": NULLABLE_TIME,
        "resolved_at": NULLABLE_TIME,
        "resolved_by": NULLABLE_TEXT,
        "cause": _enum(Cause, nullable=True),
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
                "state": _enum(State),
                "since": NULLABLE_TIME,
                "last_result": _enum(ResultKind, nullable=True),
                "last_result_at": NULLABLE_TIME,
            }
        ),
        "CheckList": _object({"checks": {"type": "array", "items": _ref("Check")}}),
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
            window | {"history": {"type": "array", "items": _ref("WindowChange")}}
        ),
        "WindowList": _object({"maintenance": {"type": "array", "items": _ref("Window")}}),
        "Declaration": _object(
            {
                "customer": {"type": "string", "minLength": 1},
                "kind": _enum(MaintenanceKind),
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
            ticket | {"events": {"type": "array", "items": _ref("TicketEvent")}}
        ),
        "TicketList": _object({"tickets": {"type": "array", "items": _ref("Ticket")}}),
        "Acknowledgement": _object({}, note),
        "Resolution": _object({"cause": _enum(Cause)}, note),
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


def _json(schema: Schema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(
    summary: str,
    ok: tuple[str, str | None],
    errors: str,
    *,
    body: str | None = None,
    body_required: bool = True,
    parameters: list[Schema] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    """Describe one operation: its success answer and the error codes it may give."""
    status, schema = ok
    responses: dict[str, Any] = {
        status: {"description": "No content."} if schema is None else _json(_ref(schema), summary)
    }
    for code in errors.split():
        responses[code] = _json(_ref("Error"), ERROR_ANSWERS[code])
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    if parameters:
        operation["parameters"] = parameters
    if public:
        operation["security"] = []
    return operation


def _path_id(name: str) -> Schema:
    schema = {"type": "string", "minLength": 1}
    return {"name": name, "in": "path", "required": True, "schema": schema, "example": "1"}


def _query(name: str, schema: Schema, description: str, **extra: Any) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema} | {
        "description": description,
        **extra,
    }


LIMIT = _query(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 100},
    "The most entries to answer.",
)


def _paths() -> dict[str, Any]:
    window_id, ticket_id = [_path_id("window_id")], [_path_id("ticket_id")]
    ticket_states = _query(
        "state",
        {"type": "array", "items": _enum(TicketState), "minItems": 1},
        "Only tickets in exactly these states (comma-separated).",
        style="form",
        explode=False,
    )
    window_state = _query("state", _enum(WindowState), "Only windows in this state now.")
    period = [
        _query("since", TIME, "Start of the period (default: 30 days before until)."),
        _query("until", TIME, "End of the period (default: now)."),
    ]
    return {
        "/healthz": {
            "get": _operation("Say that the service answers.", ("200", "Health"), "", public=True)
        },
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document.",
                "security": [],
                "responses": {"200": _json({"type": "object"}, "The OpenAPI document.")},
            }
        },
        "/api/v1/checks": {
            "get": _operation("List checks (a customer sees its own).", ("200", "CheckList"), "401")
        },
        "/api/v1/maintenance": {
            "post": _operation(
                "Declare a maintenance window.",
                ("201", "Window"),
                "400 401 403 413",
                body="Declaration",
            ),
            "get": _operation(
                "List windows, latest start first (a customer sees its own).",
                ("200", "WindowList"),
                "400 401",
                parameters=[window_state, LIMIT],
            ),
        },
        "/api/v1/maintenance/{window_id}": {
            "get": _operation(
                "Show a window with its audit trail.",
                ("200", "WindowDetail"),
                "401 403 404",
                parameters=window_id,
            ),
            "patch": _operation(
                "Extend a window or end it early.",
                ("200", "Window"),
                "400 401 403 404 409 413",
                body="WindowEnd",
                parameters=window_id,
            ),
            "delete": _operation(
                "Cancel a window that has not started.",
                ("204", None),
                "401 403 404 409",
                parameters=window_id,
            ),
        },
        "/api/v1/tickets": {
            "get": _operation(
                "List tickets, newest first (operators).",
                ("200", "TicketList"),
                "400 401 403",
                parameters=[ticket_states, LIMIT],
            )
        },
        "/api/v1/tickets/{ticket_id}": {
            "get": _operation(
                "Show a ticket with its timeline (operators).",
                ("200", "TicketDetail"),
                "401 403 404",
                parameters=ticket_id,
            )
        },
        "/api/v1/tickets/{ticket_id}/ack": {
            "post": _operation(
                "Acknowledge a ticket as the token's operator.",
                ("200", "TicketDetail"),
                "400 401 403 404 409 413",
                body="Acknowledgement",
                body_required=False,
                parameters=ticket_id,
            )
        },
        "/api/v1/tickets/{ticket_id}/resolve": {
            "post": _operation(
                "Resolve a ticket with a root cause.",
                ("200", "TicketDetail"),
                "400 401 403 404 409 413",
                body="Resolution",
                parameters=ticket_id,
            )
        },
        "/api/v1/stats": {
            "get": _operation(
                "Outage statistics of a period (operators).",
                ("200", "Stats"),
                "400 401 403",
                parameters=period,
            )
        },
    }


def build_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of every JSON route and /healthz."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "sitewatch",
            "version": __version__,
            "description": "Emergency site-down monitoring: checks, planned events, tickets.",
        },
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A customer's or an operator's token from the config.",
                }
            },
            "schemas": _schemas(),
        },
    }


DOCUMENT = build_document()


async def serve(request: web.Request) -> web.Response:
    """Answer the OpenAPI document (no token needed)."""
    return web.json_response(DOCUMENT)
