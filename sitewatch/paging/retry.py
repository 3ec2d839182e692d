"""Retry rules: after one delivery attempt, what the outbox row becomes, purely.

A failed attempt is retried after `retry_initial * 2^(n-1)`, capped at `retry_max`,
scaled by a jitter factor between 0.5 and 1 so that pages failing together do not
retry in lockstep. After `max_attempts` failed attempts, or at once when retrying
cannot help, the page is undeliverable and goes to the fallback channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sitewatch.model import Delivery, DeliveryDecision, Page, PageState
from sitewatch.model.durations import format_duration


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard the dispatcher tries before giving a page up."""

    max_attempts: int = 8
    initial: timedelta = timedelta(seconds=10)
    maximum: timedelta = timedelta(minutes=10)

    def backoff(self, failures: int, jitter: float) -> timedelta:
        """Return the wait after the `failures`-th failed attempt; `jitter` is in [0, 1)."""
        exponent = min(max(failures - 1, 0), 32)
        capped: timedelta = min(self.maximum, self.initial * float(2**exponent))
        return capped * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


def after_attempt(
    page: Page,
    delivery: Delivery,
    *,
    now: datetime,
    policy: RetryPolicy,
    jitter: float,
    wanted: bool = True,
) -> DeliveryDecision:
    """Decide what an attempt's outcome makes of the page, with the reason.

    `wanted` is False once the page has lost its reason to go out (its ticket was
    acknowledged or resolved while the attempt failed): it is not retried.
    """
    attempts = page.attempts + 1
    if delivery.ok:
        return DeliveryDecision(PageState.SENT, attempts, now, "", f"sent at attempt {attempts}")
    if not wanted:
        reason = "not retried: the ticket was acknowledged or resolved meanwhile"
        return DeliveryDecision(PageState.CANCELLED, attempts, now, delivery.error, reason)
    if delivery.permanent:
        reason = "undeliverable at once: retrying cannot help"
        return DeliveryDecision(PageState.UNDELIVERABLE, attempts, now, delivery.error, reason)
    if attempts >= policy.max_attempts:
        reason = f"undeliverable after {attempts} attempts (max_attempts {policy.max_attempts})"
        return DeliveryDecision(PageState.UNDELIVERABLE, attempts, now, delivery.error, reason)
    wait = policy.backoff(attempts, jitter)
    reason = f"attempt {attempts} of {policy.max_attempts} failed; next in {format_duration(wait)}"
    return DeliveryDecision(PageState.PENDING, attempts, now + wait, delivery.error, reason)
