"""The status page: server-rendered HTML at `GET /`, with a logon form for browsers.

An operator sees every check, open ticket and window; a customer sees its own. The
caller is named by `Authorization: Bearer` or by the session cookie `POST /login`
sets (see `sessions.py`); without either the page is the logon form. Every value
shown is escaped, and no token is ever written into a page.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from string import Template

from aiohttp import web

from sitewatch.api.common import CLOCK, SERVICE, SETTINGS, TOKENS
from sitewatch.api.sessions import COOKIE, SessionSigner
from sitewatch.model import (
    Classification,
    Principal,
    Role,
    State,
    Ticket,
    TicketState,
    Window,
    WindowState,
)
from sitewatch.model.durations import format_duration
from sitewatch.outages.board import CheckView
from sitewatch.stats.compute import DEFAULT_SPAN, Period, Statistics

SESSIONS = web.AppKey("sessions", SessionSigner)
REFRESH_SECONDS = 30
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def add_routes(app: web.Application) -> None:
    """Register the status page and its logon routes, with a fresh session key."""
    app[SESSIONS] = SessionSigner()
    app.router.add_get("/", page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)


async def page(request: web.Request) -> web.Response:
    """Show the status page, or the logon form when the caller is not known."""
    now = request.app[CLOCK].now()
    header = request.headers.get("Authorization")
    if header:
        who = request.app[TOKENS].authenticate(header)
        problem = "That token is not valid."
    else:
        who = request.app[SESSIONS].check(request.cookies.get(COOKIE), now)
        problem = "Your session has ended; log on again." if COOKIE in request.cookies else ""
    if who is None:
        return _logon_page(now, problem)
    return _html(
        _layout(f"sitewatch: {_scope(who)}", _who(who), await _status(request, who, now), now)
    )


async def login(request: web.Request) -> web.Response:
    """Check a token posted by the logon form; on success set the session cookie."""
    now = request.app[CLOCK].now()
    form = await request.post()
    token = form.get("token")
    who = None
    if isinstance(token, str) and token.strip():
        who = request.app[TOKENS].authenticate(f"Bearer {token.strip()}")
    if who is None:
        return _logon_page(now, "That token is not valid.")
    signer = request.app[SESSIONS]
    response = web.Response(status=303, headers={"Location": "/", **HEADERS})
    response.set_cookie(
        COOKIE,
        signer.issue(who, now),
        max_age=int(signer.lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    return response


async def logout(request: web.Request) -> web.Response:
    """End the browser's session and go back to the logon form."""
    response = web.Response(status=303, headers={"Location": "/", **HEADERS})
    response.del_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
    return response


@functools.cache
def _template(name: str) -> Template:
    return Template(resources.files("sitewatch").joinpath("templates", name).read_text("utf-8"))


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", headers=HEADERS)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _layout(title: str, who: str, content: str, now: datetime, *, refresh: bool = True) -> str:
    return _template("page.html").substitute(
        title=_e(title),
        refresh=f'<meta http-equiv="refresh" content="{REFRESH_SECONDS}">\n' if refresh else "",
        who=who,
        content=content,
        generated=_e(_stamp(now)),
    )


def _logon_page(now: datetime, problem: str) -> web.Response:
    message = f'<p class="error" role="alert">{_e(problem)}</p>' if problem else ""
    content = _template("logon.html").substitute(message=message)
    body = _layout("sitewatch: log on", "", content, now, refresh=False)
    return _html(body, status=401 if problem else 200)


def _scope(who: Principal) -> str:
    return "all customers" if who.role is Role.OPERATOR else f"customer {who.id}"


def _who(who: Principal) -> str:
    return (
        f'<form method="post" action="/logout"><span class="muted">{_e(who.role.value)}'
        f' {_e(who.id)}</span> <button type="submit">Log off</button></form>'
    )


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _when(at: datetime | None, now: datetime) -> str:
    """Render a time as a cell's HTML: the UTC time and how long ago (or how soon) it is."""
    if at is None:
        return '<span class="muted">-</span>'
    gap = now - at
    relative = (
        f"{format_duration(gap)} ago" if gap >= timedelta(0) else f"in {format_duration(-gap)}"
    )
    iso = at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    stamp = f'<time datetime="{_e(iso)}">{_e(_stamp(at))}</time>'
    return f'{stamp} <span class="muted">({_e(relative)})</span>'


def _percent(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio * 100:.3f}%"


def _td(text: object) -> str:
    return f"<td>{_e(text)}</td>"


def _num(text: object) -> str:
    return f'<td class="num">{_e(text)}</td>'


def _named(main: str, detail: str) -> str:
    return f'<td><strong>{_e(main)}</strong><br><span class="muted">{_e(detail)}</span></td>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], empty: str) -> str:
    # Each cell names its column, so a phone can show a row as a card (see page.html).
    labels = [f'<td data-label="{_e(h)}"' for h in headers]
    body = "".join(
        "<tr>"
        + "".join(c.replace("<td", a, 1) for c, a in zip(cells, labels, strict=True))
        + "</tr>\n"
        for cells in rows
    )
    if not body:
        return f'<p class="empty">{_e(empty)}</p>'
    head = "".join(f'<th scope="col">{_e(h)}</th>' for h in headers)
    table = f"<table><thead><tr>{head}</tr></thead>\n<tbody>{body}</tbody></table>"
    return f'<div class="scroll">{table}</div>'


def _section(title: str, content: str, *, css: str = "") -> str:
    classes = f' class="{css}"' if css else ""
    return f"<section{classes}><h2>{_e(title)}</h2>\n{content}</section>\n"


async def _status(request: web.Request, who: Principal, now: datetime) -> str:
    app = request.app
    service = app[SERVICE]
    views = [v for v in service.board.views() if who.may_act_for(v.spec.customer)]
    customers = [c.id for c in app[SETTINGS].customers if who.may_act_for(c.id)]
    unresolved = [TicketState.OPEN, TicketState.ACKNOWLEDGED]
    tickets, _ = await service.tickets.page(unresolved, 200)
    in_force = {WindowState.ACTIVE, WindowState.SCHEDULED}
    windows = sorted(
        (
            w
            for w in (await service.windows.page(who, state=None, limit=500))[0]
            if w.state(now) in in_force
        ),
        key=lambda w: (w.start, w.id),
    )
    stats = await service.stats.read(Period(now - DEFAULT_SPAN, now))
    parts = []
    if who.role is Role.OPERATOR and service.faults.active:
        warning = (
            "<p>Most checks fail on the network at once: sitewatch's own network is"
            " suspected, and customer tickets are held until it clears.</p>"
        )
        parts.append(_section("Prober fault", warning, css="banner"))
    parts.append(_checks_section(views, stats, now))
    parts.append(_tickets_section([t for t in tickets if who.may_act_for(t.customer)], now))
    parts.append(_windows_section(windows, now))
    parts.append(_customers_section(stats, customers))
    return "".join(parts)


def _checks_section(views: Sequence[CheckView], stats: Statistics, now: datetime) -> str:
    availability = {c.check: c.availability for c in stats.checks}
    counts = dict.fromkeys(State, 0)
    rows = []
    for view in views:
        spec, status = view.spec, view.verdict
        last, _ = view.last
        counts[status.state] += 1
        state = status.state.value
        badge = f'<span class="state state-{state}" data-check="{_e(spec.id)}">{state}</span>'
        rows.append(
            (
                _named(spec.id, spec.name),
                _td(spec.customer),
                f"<td>{badge}</td>",
                f"<td>{_when(status.since, now)}</td>",
                _td(last.value if last else "-"),
                _num(_percent(availability.get(spec.id))),
            )
        )
    summary = " ".join(f"<span><strong>{n}</strong> {s.value}</span>" for s, n in counts.items())
    headers = ("Check", "Customer", "State", "Since", "Last result", "30-day availability")
    table = _table(headers, rows, "No checks.")
    return _section("Checks", f'<p class="summary">{summary}</p>\n{table}')


def _tickets_section(tickets: Sequence[Ticket], now: datetime) -> str:
    rows = [
        (
            _td(t.id),
            _td(t.check),
            _td(t.customer),
            _td(t.state.value),
            _td(t.classification.value),
            _td(t.symptom.value),
            f"<td>{_when(t.onset_at, now)}</td>",
            _td(t.acknowledged_by or "-"),
            f"<td>recovered {_when(t.recovered_at, now)}</td>"
            if t.recovered_at
            else _td("still down"),
        )
        for t in tickets
    ]
    headers = (
        "Ticket",
        "Check",
        "Customer",
        "State",
        "Kind",
        "Symptom",
        "Onset",
        "Acked by",
        "Site",
    )
    return _section("Open tickets", _table(headers, rows, "No open tickets."))


def _windows_section(windows: Sequence[Window], now: datetime) -> str:
    rows = [
        (
            _td(w.id),
            _td(w.customer),
            _td(", ".join(w.checks) or "all checks"),
            _td(w.kind.value),
            _td(w.state(now).value),
            f"<td>{_when(w.start, now)}</td>",
            f"<td>{_when(w.end, now)}</td>",
            _td(w.note),
        )
        for w in windows
    ]
    headers = ("Window", "Customer", "Checks", "Kind", "State", "Start", "End", "Note")
    return _section("Maintenance windows, active and upcoming", _table(headers, rows, "None."))


def _customers_section(stats: Statistics, visible: Sequence[str]) -> str:
    order = (Classification.EMERGENCY, Classification.OVERRUN, Classification.PLANNED)
    rows = [
        (
            _named(c.customer, c.name),
            _num(_percent(c.availability)),
            *(_num(c.outages[k]) for k in order),
        )
        for c in stats.customers
        if c.customer in visible
    ]
    headers = ("Customer", "Availability", "Emergencies", "Overruns", "Planned")
    return _section("Last 30 days", _table(headers, rows, "No customers."))
