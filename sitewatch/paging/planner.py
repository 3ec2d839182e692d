"""The planner: from a ticket (or a prober fault) and a moment to outbox rows, purely.

It knows the escalation levels, whom their names reach (a `TargetResolver`), each
operator's notify targets, the acknowledge-link key and the secrets to redact; it
never touches the store or the network. The store calls it inside the transaction
that causes the pages; the escalator and the dispatcher call it around theirs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from sitewatch.model import (
    FALLBACK,
    Page,
    PageKind,
    PageRow,
    Target,
    Ticket,
    fallback_subject,
    fault_subject,
    ticket_subject,
)
from sitewatch.paging import render
from sitewatch.paging.channels import Channels
from sitewatch.paging.escalation import EscalationDecision, Level, Round, due_rounds
from sitewatch.paging.links import AckLinks
from sitewatch.paging.oncall import Unresolved
from sitewatch.paging.targets import TargetResolver


@dataclass(frozen=True, slots=True)
class Unreached:
    """A due round some of whose names reached nobody: an alarm, not a silent skip."""

    level: int
    round: int
    names: tuple[Unresolved, ...]
    reached_anyone: bool


@dataclass(frozen=True, slots=True)
class Plan:
    """The rows to insert, and the rounds whose names reached nobody."""

    rows: list[PageRow] = field(default_factory=list)
    unreached: list[Unreached] = field(default_factory=list)
    decision: EscalationDecision | None = None


class Planner:
    """Make the outbox rows for tickets and prober faults: whom, which round, what text."""

    def __init__(
        self,
        *,
        levels: Sequence[Level],
        repeat_every: timedelta,
        resolver: TargetResolver,
        channels: Channels,
        links: AckLinks,
        secrets: Callable[[str | None], frozenset[str]],
        document: Callable[[Ticket], Mapping[str, object]] | None = None,
    ) -> None:
        self._levels = tuple(levels)
        self._repeat_every = repeat_every
        self._resolver = resolver
        self._channels = channels
        self._links = links
        self._secrets = secrets
        """What to redact from text about a check (`Settings.secrets_about`)."""
        self._document = document
        """The ticket as the API shows it (the webhook payload's `ticket`)."""

    def escalation(
        self, ticket: Ticket, planned: Collection[tuple[int, int]], now: datetime
    ) -> Plan:
        """Return the rows of every due round not in `planned`, and who could not be reached."""
        decision = due_rounds(
            opened_at=ticket.opened_at,
            state=ticket.state,
            recovered_at=ticket.recovered_at,
            levels=self._levels,
            repeat_every=self._repeat_every,
            now=now,
        )
        plan = Plan(decision=decision)
        for due in decision.rounds:
            if (due.level, due.round) not in planned:
                self._plan_round(plan, ticket, due, now)
        return plan

    def notice(
        self, kind: PageKind, ticket: Ticket, paged: Sequence[Target], now: datetime
    ) -> list[PageRow]:
        """Return RECOVERED or RESOLVED to every target paged for the ticket."""
        rows = []
        for target in dict.fromkeys(paged):
            link = None if kind is PageKind.RESOLVED else self._link(ticket, target.operator, now)
            text = render.ticket_page(
                kind, ticket, now=now, secrets=self._secrets(ticket.check), ack_url=link
            )
            rows.append(self._ticket_row(kind, ticket, target, text, now))
        return rows

    def fault(
        self, kind: PageKind, location: str, episode: str, reason: str, now: datetime
    ) -> Plan:
        """Return PROBER FAULT or PROBER OK about one location to the first level's targets."""
        plan = Plan()
        if not self._levels:
            return plan
        text = render.fault_page(kind, reason, now)
        text = render.PageText(f"{text.title} {location}", text.body)
        for _, targets in self._recipients(plan, 0, 0, now):
            for target in targets:
                plan.rows.append(
                    PageRow(fault_subject(episode), kind, *target, text.title, text.body, now)
                )
        return plan

    def hooks(
        self, kind: PageKind, ticket: Ticket, now: datetime, *, level: int = 0, round: int = 0
    ) -> list[PageRow]:
        """Return one call per ticket webhook telling of a change of the ticket.

        The body is the JSON the help desk receives: the event, the ticket as it
        stands after the change, and a key unique to the change (the same on every
        URL and every attempt, so a repeated call is recognised).
        """
        event = kind.event
        targets = self._channels.webhook_targets()
        if event is None or not targets or self._document is None:
            return []
        key = f"sitewatch:{ticket.id}:{event}:{level}.{round}"
        body = json.dumps(
            {"event": event, "ticket": self._document(ticket), "key": key}, ensure_ascii=False
        )
        reason = f"ticket {ticket.id} {event}"
        return [
            PageRow(
                subject=ticket_subject(ticket.id),
                kind=kind,
                operator=target.operator,
                url_index=target.url_index,
                title=event,
                body=body,
                due_at=now,
                ticket_id=ticket.id,
                level=level,
                round=round,
                reason=reason,
            )
            for target in targets
        ]

    def fallback(self, page: Page, error: str, now: datetime) -> list[PageRow]:
        """Return copies of an undeliverable page for every fallback channel (none for a copy)."""
        if page.row.operator == FALLBACK:
            return []
        text = render.fallback_page(page, error, self._secrets(None))
        return [
            PageRow(
                subject=fallback_subject(page.id),
                kind=page.row.kind,
                operator=target.operator,
                url_index=target.url_index,
                title=text.title,
                body=text.body,
                due_at=now,
                ticket_id=page.row.ticket_id,
                level=page.row.level,
                round=page.row.round,
            )
            for target in self._channels.fallback_targets()
        ]

    def _plan_round(self, plan: Plan, ticket: Ticket, due: Round, now: datetime) -> None:
        level = self._levels[due.level]
        first = due.round == 0 and level.after == self._levels[0].after
        kind = PageKind.SITE_DOWN if first else PageKind.STILL_DOWN
        for operator, targets in self._recipients(plan, due.level, due.round, now):
            text = render.ticket_page(
                kind,
                ticket,
                now=now,
                secrets=self._secrets(ticket.check),
                ack_url=self._link(ticket, operator, now),
                level=due.level,
                round=due.round,
            )
            for target in targets:
                row = self._ticket_row(kind, ticket, target, text, due.due_at)
                plan.rows.append(replace(row, level=due.level, round=due.round))

    def _recipients(
        self, plan: Plan, level: int, round: int, now: datetime
    ) -> list[tuple[str, list[Target]]]:
        """Resolve a level's names; a level that reaches nobody goes to the fallback."""
        resolution = self._resolver.resolve(self._levels[level].targets, now)
        if resolution.unresolved:
            reached = bool(resolution.operators)
            plan.unreached.append(Unreached(level, round, resolution.unresolved, reached))
        if not resolution.operators:
            return [(FALLBACK, self._channels.fallback_targets())]
        return [(operator, self._channels.targets(operator)) for operator in resolution.operators]

    def _link(self, ticket: Ticket, operator: str, now: datetime) -> str | None:
        if operator == FALLBACK:
            return None
        return self._links.url(ticket.id, operator, now)

    def _ticket_row(
        self, kind: PageKind, ticket: Ticket, target: Target, text: render.PageText, due: datetime
    ) -> PageRow:
        return PageRow(
            subject=ticket_subject(ticket.id),
            kind=kind,
            operator=target.operator,
            url_index=target.url_index,
            title=text.title,
            body=text.body,
            due_at=due,
            ticket_id=ticket.id,
        )
