"""Acknowledge links: `GET /ack/{token}` shows the ticket, its button POSTs the acknowledgement.

The token (see `paging/links.py`) is the credential: it acknowledges one ticket as
the operator it was issued to, while that operator is in the config. A GET changes
nothing, because mail scanners and link previews follow links. Answers are small
HTML pages for a phone; they are never cached and never send the link on as a
referrer. Nothing here logs the request path: it holds the token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from html import escape

from aiohttp import web

from sitewatch.api.common import CLOCK, METRICS, SERVICE, SETTINGS, iso
from sitewatch.model import Outcome, Ticket, TicketState
from sitewatch.model.redaction import redact
from sitewatch.paging.links import AckGrant, Refusal

log = logging.getLogger(__name__)

NOTE = "acknowledged from a page link"
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:1.5rem auto;padding:0 1rem}"
    "dt{font-weight:bold}dd{margin:0 0 .6rem}button{font-size:1.2rem;padding:.6rem 1.4rem}"
)


async def show(request: web.Request) -> web.Response:
    """Show the ticket a link acknowledges, with the button; change nothing."""
    return await _guarded(request, _show)


async def acknowledge(request: web.Request) -> web.Response:
    """Acknowledge the ticket as the operator the link was issued to."""
    return await _guarded(request, _acknowledge)


async def _show(request: web.Request) -> web.Response:
    found = await _ticket_of(request)
    if isinstance(found, web.Response):
        return found
    grant, ticket = found
    if ticket.state is TicketState.OPEN:
        action = (
            '<form method="post"><button type="submit">'
            f"Acknowledge as {escape(grant.operator)}</button></form>"
            "<p>Acknowledging stops the escalation of this ticket.</p>"
        )
    else:
        action = f"<p>{escape(_state_sentence(ticket))}</p>"
    return _page(200, f"Ticket {ticket.id}", _facts(request, ticket) + action)


async def _acknowledge(request: web.Request) -> web.Response:
    found = await _ticket_of(request)
    if isinstance(found, web.Response):
        return found
    grant, ticket = found
    now = request.app[CLOCK].now()
    change = await request.app[SERVICE].tickets.acknowledge(ticket.id, grant.operator, NOTE)
    if change is None:
        return _page(404, "Unknown ticket", f"<p>There is no ticket {escape(ticket.id)}.</p>")
    if change.outcome is Outcome.CONFLICT:
        sentence = f"{change.reason}: there is nothing left to acknowledge."
        return _page(409, f"Ticket {ticket.id}", f"<p>{escape(sentence)}</p>")
    if change.outcome is Outcome.CHANGED:
        sentence = f"Acknowledged as {grant.operator} at {iso(now)}. Escalation has stopped."
    else:
        sentence = _state_sentence(change.ticket)
    body = _facts(request, change.ticket) + f"<p>{escape(sentence)}</p>"
    return _page(200, f"Ticket {ticket.id}", body)


async def _ticket_of(request: web.Request) -> tuple[AckGrant, Ticket] | web.Response:
    now = request.app[CLOCK].now()
    operators = {operator.id for operator in request.app[SETTINGS].operators}
    verdict = request.app[SERVICE].links.verify(
        request.match_info["token"], now, operators=operators
    )
    if isinstance(verdict, Refusal):
        return _page(403, "Link refused", f"<p>{escape(verdict.message)}</p>")
    ticket = await request.app[SERVICE].tickets.get(verdict.ticket_id)
    if ticket is None:
        message = f"There is no ticket {verdict.ticket_id} in this sitewatch."
        return _page(404, "Unknown ticket", f"<p>{escape(message)}</p>")
    return verdict, ticket


def _facts(request: web.Request, ticket: Ticket) -> str:
    secrets = request.app[SETTINGS].secrets_about(ticket.check)
    symptom = ticket.symptom.value
    if ticket.detail:
        symptom += f": {redact(ticket.detail, secrets)}"
    facts = [
        ("Ticket", f"{ticket.id} ({ticket.state.value}, {ticket.classification.value})"),
        ("Check", ticket.check),
        ("Customer", ticket.customer),
        ("Symptom", symptom),
        ("Onset", iso(ticket.onset_at) or ""),
    ]
    if ticket.recovered_at is not None:
        facts.append(("Recovered", iso(ticket.recovered_at) or ""))
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts)
    return f"<dl>{rows}</dl>"


def _state_sentence(ticket: Ticket) -> str:
    if ticket.state is TicketState.RESOLVED:
        return f"Resolved by {ticket.resolved_by} at {iso(ticket.resolved_at)}."
    return f"Already acknowledged by {ticket.acknowledged_by} at {iso(ticket.acknowledged_at)}."


def _page(status: int, title: str, body: str) -> web.Response:
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - sitewatch</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )
    return web.Response(status=status, text=html, content_type="text/html", headers=_HEADERS)


async def _guarded(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.Response]]
) -> web.Response:
    try:
        return await handler(request)
    except Exception:
        # The middleware would log the path, and with it the token: answer here.
        log.exception("unexpected error answering an acknowledge link")
        request.app[METRICS].internal_errors.labels("ack").inc()
        message = "sitewatch could not answer this link; the details are in its log."
        return _page(500, "Internal error", f"<p>{escape(message)}</p>")
