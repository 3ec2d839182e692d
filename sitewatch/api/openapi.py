"""The OpenAPI 3.1 document of the HTTP API, generated from its body models and one table.

`OPERATIONS` says, for each route, its summary, the models it reads (body, query
string) and answers, and the errors particular to it; every route with a token may
also answer 400 (a malformed header or query), 401 and 429, and every route with a
body 413 (`apidoc` adds those). The schemas are pydantic's JSON schemas of the very
models the routes validate and answer with, so the document cannot drift from the
code.
`tests/test_api_openapi.py` checks that every registered route is documented and
every documented route registered; `tests/test_api_schemathesis.py` fuzzes the
running service against this document.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import RootModel

from sitewatch import __version__
from sitewatch.api.apidoc import Operation, document
from sitewatch.api.bodies.requests import (
    Acknowledgement,
    Declaration,
    Resolution,
    StatsQuery,
    TicketQuery,
    WindowEnd,
    WindowQuery,
)
from sitewatch.api.bodies.responses import (
    CheckList,
    ErrorBody,
    Health,
    TicketDetail,
    TicketList,
    Unhealthy,
    WindowBody,
    WindowDetail,
    WindowList,
)
from sitewatch.api.bodies.stats import Stats
from sitewatch.api.cluster import ClusterBody
from sitewatch.api.common import MAX_BODY_BYTES


class OpenApiDocument(RootModel[dict[str, Any]]):
    """This document."""


OPERATIONS = (
    Operation(
        "get",
        "/healthz",
        "Say whether every loop of this instance is alive and its database answers.",
        (200, Health),
        public=True,
        also=((503, Unhealthy),),
    ),
    Operation("get", "/api/v1/openapi.json", "This document.", (200, OpenApiDocument), public=True),
    Operation("get", "/api/v1/checks", "List checks (a customer sees its own).", (200, CheckList)),
    Operation(
        "get",
        "/api/v1/cluster",
        "Show the live instances, their locations and the leader (operators).",
        (200, ClusterBody),
        (403,),
        also=((503, ErrorBody),),
    ),
    Operation(
        "post",
        "/api/v1/maintenance",
        "Declare a maintenance window.",
        (201, WindowBody),
        (403,),
        body=Declaration,
    ),
    Operation(
        "get",
        "/api/v1/maintenance",
        "List windows, latest start first (a customer sees its own).",
        (200, WindowList),
        query=WindowQuery,
    ),
    Operation(
        "get",
        "/api/v1/maintenance/{window_id}",
        "Show a window with its audit trail.",
        (200, WindowDetail),
        (403, 404),
    ),
    Operation(
        "patch",
        "/api/v1/maintenance/{window_id}",
        "Extend a window or end it early.",
        (200, WindowBody),
        (403, 404, 409),
        body=WindowEnd,
    ),
    Operation(
        "delete",
        "/api/v1/maintenance/{window_id}",
        "Cancel a window that has not started.",
        (204, None),
        (403, 404, 409),
    ),
    Operation(
        "get",
        "/api/v1/tickets",
        "List tickets, newest first (operators).",
        (200, TicketList),
        (403,),
        query=TicketQuery,
    ),
    Operation(
        "get",
        "/api/v1/tickets/{ticket_id}",
        "Show a ticket with its timeline (operators).",
        (200, TicketDetail),
        (403, 404),
    ),
    Operation(
        "post",
        "/api/v1/tickets/{ticket_id}/ack",
        "Acknowledge a ticket as the token's operator.",
        (200, TicketDetail),
        (403, 404, 409),
        body=Acknowledgement,
        body_required=False,
    ),
    Operation(
        "post",
        "/api/v1/tickets/{ticket_id}/resolve",
        "Resolve a ticket with a root cause.",
        (200, TicketDetail),
        (403, 404, 409),
        body=Resolution,
    ),
    Operation(
        "get",
        "/api/v1/stats",
        "Outage statistics of a period (operators).",
        (200, Stats),
        (403,),
        query=StatsQuery,
    ),
)


ERROR_ANSWERS = {
    400: "Invalid input: the message says which field or parameter and why.",
    401: "Missing or unknown bearer token.",
    403: "The token may not do this (another customer's data, or an operator-only route).",
    404: "No such id (whatever its form).",
    409: "The change conflicts with the current state (the message says which).",
    413: f"The request body is larger than {MAX_BODY_BYTES} bytes.",
    429: "Over a limit (requests per minute, or windows not ended): wait `Retry-After` seconds.",
}


def build_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document of every JSON route and /healthz."""
    return document(
        OPERATIONS,
        info={
            "title": "sitewatch",
            "version": __version__,
            "description": "Emergency site-down monitoring: checks, planned events, tickets.",
        },
        token="A customer's or an operator's token from the config.",
        error=ErrorBody,
        error_answers=ERROR_ANSWERS,
    )


DOCUMENT = build_document()
_SERVED = json.dumps(DOCUMENT)


async def serve(request: web.Request) -> web.Response:
    """Answer the OpenAPI document (no token needed)."""
    return web.Response(text=_SERVED, content_type="application/json")
