"""Applying a page plan inside the transaction that made the ticket change behind it.

The rules (`paging.rules`) say what a ticket change does to the outbox; this is
the one place that does it, in the order the plan requires: stop, notify, add.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sitewatch.model import Ticket
from sitewatch.paging.planner import Planner, Unreached
from sitewatch.paging.rules import PagePlan
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Tx

log = logging.getLogger(__name__)


async def apply_plan(
    tx: Tx, planner: Planner, ticket: Ticket, plan: PagePlan, now: datetime
) -> int:
    """Apply `plan` for `ticket` through `tx`; return how many rows were added."""
    if plan.stop:
        await tx.outbox.cancel_pending(ticket.id, plan.stop, plan.reason, now)
    rows = list(plan.add)
    if plan.notice is not None:
        paged = await tx.outbox.paged_targets(ticket.id)
        rows += planner.notice(plan.notice, ticket, paged, now)
    if plan.hook is not None:
        rows += planner.hooks(plan.hook, ticket, now)
    return await tx.outbox.add(rows, now) if rows else 0


def warn_unreached(metrics: Metrics, subject: str, unreached: Sequence[Unreached]) -> None:
    """Log and count escalation names that reached nobody (the page went to the fallback)."""
    for miss in unreached:
        for name in miss.names:
            metrics.oncall_unresolved.labels(name.target).inc()
        log.warning(
            "%s: escalation level %d (round %d): %s reached nobody%s",
            subject,
            miss.level,
            miss.round,
            "; ".join(f"{name.target} ({name.detail})" for name in miss.names),
            "" if miss.reached_anyone else "; the level is paged to the fallback channels",
        )
