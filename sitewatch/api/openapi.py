"""The OpenAPI 3.1 document of the HTTP API, built from the domain enums so it cannot drift.

`tests/test_api_openapi.py` checks that every registered route is documented and
every documented route registered; `tests/test_api_schemathesis.py` fuzzes the
running service against this document.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from sitewatch import __version__
from sitewatch.api.cluster import SCHEMA as CLUSTER_SCHEMA
from sitewatch.api.common import MAX_BODY_BYTES, MAX_LIMIT
from sitewatch.api.schemas import TIME, Schema, enum, ref, schemas
from sitewatch.model import (
    TicketState,
    WindowState,
)

ERROR_ANSWERS = {
    "400": "Invalid input: the message says which field and why.",
    "401": "Missing or unknown bearer token.",
    "403": "The token may not do this (another customer's data, or an operator-only route).",
    "404": "No such id (whatever its form).",
    "409": "The change conflicts with the current state (the message says which).",
    "413": f"The request body is larger than {MAX_BODY_BYTES} bytes.",
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
        status: {"description": "No content."} if schema is None else _json(ref(schema), summary)
    }
    for code in errors.split():
        responses[code] = _json(ref("Error"), ERROR_ANSWERS[code])
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": ref(body)}},
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
AFTER = _query(
    "after",
    {"type": "string", "minLength": 1, "maxLength": 200},
    "Continue a list: the `next` of the previous page, as it was given.",
)


def _paths() -> dict[str, Any]:
    window_id, ticket_id = [_path_id("window_id")], [_path_id("ticket_id")]
    ticket_states = _query(
        "state",
        {"type": "array", "items": enum(TicketState), "minItems": 1},
        "Only tickets in exactly these states (comma-separated).",
        style="form",
        explode=False,
    )
    window_state = _query("state", enum(WindowState), "Only windows in this state now.")
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
                parameters=[window_state, LIMIT, AFTER],
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
                parameters=[ticket_states, LIMIT, AFTER],
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
        "/api/v1/cluster": {
            "get": _operation("Instances, locations, the leader.", ("200", "Cluster"), "401 403")
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
            "schemas": schemas() | {"Cluster": CLUSTER_SCHEMA},
        },
    }


DOCUMENT = build_document()


async def serve(request: web.Request) -> web.Response:
    """Answer the OpenAPI document (no token needed)."""
    return web.json_response(DOCUMENT)
