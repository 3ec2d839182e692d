"""Page text: the title and body of each kind of page, purely.

The title is `PREFIX check customer` (contract), the first line an SMS gateway
shows, so it stays under 160 characters; so does the body's first line.

A page is plain text, read on a phone at 3 a.m.: every text that came from outside
sitewatch (a probe detail quoting a site's header or body, a note, a channel's
error) goes through `plain` before it is placed. It becomes one line; control,
format (bidi overrides, zero-width) and other invisible characters become visible
`\\u` escapes (`\\u202e` for a right-to-left override), so nothing can reorder,
hide or restyle what the page says;
Markdown link syntax is broken up, for chat services that render Markdown from
plain text; and then the configured secrets are redacted. Markup is left as
text: Apprise receives the page as plain text and escapes it for every channel
that renders HTML or Markdown.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sitewatch.model import Page, PageKind, Ticket
from sitewatch.model.durations import format_duration
from sitewatch.model.redaction import redact, redact_head

MAX_LINE = 159
"""The longest first line (title, or the body's first line): under 160 for SMS."""
MAX_DETAIL = 300
"""The most characters of outside text (a probe detail, a note, an error) in a page."""


@dataclass(frozen=True, slots=True)
class PageText:
    """What a page says."""

    title: str
    body: str


def title(kind: PageKind, check: str, customer: str) -> str:
    """Return `PREFIX check customer`, cut to stay under 160 characters."""
    return _line(plain(f"{kind.prefix} {check} {customer}"))


def ticket_page(
    kind: PageKind,
    ticket: Ticket,
    *,
    now: datetime,
    secrets: Iterable[str],
    ack_url: str | None,
    level: int = 0,
    round: int = 0,
) -> PageText:
    """Render a page about a ticket: symptom and failing step, onset, ticket, ack link.

    The body's first line is what a pager shows under the title: the symptom while
    the site is down, the outcome once it recovered or was resolved.
    """
    hidden = frozenset(secrets)
    detail = plain(ticket.detail, hidden)
    symptom = f"Symptom: {ticket.symptom.value}" + (f": {detail}" if detail else "")
    down_for = format_duration((ticket.recovered_at or now) - ticket.onset_at)
    outcome = _kind_lines(kind, ticket, level, round, down_for, hidden)
    facts = [
        _line(symptom),
        f"Onset: {_iso(ticket.onset_at)}"
        + (f" (down {down_for})" if kind is not PageKind.SITE_DOWN else ""),
        f"Ticket: {ticket.id} ({ticket.classification.value}), opened {_iso(ticket.opened_at)}",
    ]
    lines = facts + outcome if kind.escalates else [_line(outcome[0]), *facts, *outcome[1:]]
    if ack_url is not None:
        lines.append(f"Acknowledge: {ack_url}")
    return PageText(title(kind, ticket.check, ticket.customer), "\n".join(lines))


def fault_page(kind: PageKind, reason: str, at: datetime) -> PageText:
    """Render PROBER FAULT or PROBER OK: no ticket, a statement about sitewatch itself."""
    if kind is PageKind.PROBER_FAULT:
        advice = (
            "sitewatch opens no customer tickets while this lasts. Check its own network "
            "(DNS, routes, firewall, proxy) before the customers'."
        )
    else:
        advice = "Checks still failing are judged as usual again."
    return PageText(kind.prefix, "\n".join([_line(plain(reason)), f"At: {_iso(at)}", advice]))


def fallback_page(page: Page, error: str, secrets: Iterable[str]) -> PageText:
    """Render the fallback copy of a page that could not be delivered to its target."""
    why = plain(error, frozenset(secrets)) or "no error given"
    first = f"Undeliverable to {page.row.target.describe()} after {page.attempts} attempt(s): {why}"
    return PageText(page.row.title, f"{_line(first)}\n\n{page.row.body}")


def _kind_lines(
    kind: PageKind, ticket: Ticket, level: int, round: int, down_for: str, secrets: frozenset[str]
) -> list[str]:
    if kind is PageKind.STILL_DOWN:
        repeat = f", repeat {round}" if round else ""
        return [f"Escalation: level {level}{repeat}; nobody has acknowledged yet"]
    if kind is PageKind.RECOVERED and ticket.recovered_at is not None:
        return [
            f"Recovered: {_iso(ticket.recovered_at)} after {down_for} down",
            "The ticket stays open until someone resolves it with a cause.",
        ]
    if kind is PageKind.RESOLVED and ticket.resolved_at is not None:
        cause = ticket.cause.value if ticket.cause else "unknown"
        note = plain(ticket.resolution_note, secrets)
        by = ticket.resolved_by or "an operator"
        return [f"Resolved: {_iso(ticket.resolved_at)} by {by}, cause {cause}"] + (
            [f"Note: {note}"] if note else []
        )
    return [f"Status: {ticket.state.value}"] if not kind.escalates else []


def plain(text: str, secrets: frozenset[str] = frozenset(), *, limit: int = MAX_DETAIL) -> str:
    """Return outside text fit for a page: one line, every character visible, redacted.

    At most `limit` characters are kept. The text is first cut, generously and
    never inside a secret, so that a huge one costs no more than a short one.
    Redaction comes last, so a secret a site broke up with a newline or a tab is
    whole again, and found, when it is redacted.
    """
    head = redact_head(text, 4 * limit, secrets)
    shown = " ".join(head.translate(_VISIBLE).split())
    return redact(shown.replace("](", "] ("), secrets)[:limit]


class _Visible(dict[int, "str | int"]):
    """A `str.translate` table, filled as characters are met.

    Whitespace of any kind becomes a space; a character that is not shown, or not
    shown as itself, becomes its escape (U+202E RIGHT-TO-LEFT OVERRIDE becomes
    `\\u202e`); every other character stays.
    """

    def __missing__(self, code: int) -> str | int:
        char = chr(code)
        if char.isspace():
            shown: str | int = " "
        elif unicodedata.category(char) in _HIDDEN_CATEGORIES:
            shown = f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
        else:
            shown = code
        if len(self) < _MAX_REMEMBERED:
            self[code] = shown
        return shown


# Control, format (bidi controls, zero-width, tags), surrogate, private-use and
# unassigned: nothing a reader can tell apart on a phone's screen.
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# A hostile text may hold many distinct characters: remember a bounded number.
_MAX_REMEMBERED = 4096
_VISIBLE = _Visible()


def _line(text: str) -> str:
    return text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "..."


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")
