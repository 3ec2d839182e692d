"""The retry rules: sent, retried after a growing wait, or given up to the fallback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sitewatch.model import Delivery, Page, PageKind, PageRow, PageState
from sitewatch.paging.retry import RetryPolicy, after_attempt
from tests.paging_support import at

POLICY = RetryPolicy(3, timedelta(seconds=10), timedelta(minutes=10))
ROW = PageRow("ticket/1", PageKind.SITE_DOWN, "alice", 0, "SITE DOWN a b", "body", at(0))


@pytest.mark.parametrize(
    ("attempts", "delivery", "state", "wait"),
    [
        pytest.param(0, Delivery(True), PageState.SENT, 0, id="sent at once"),
        pytest.param(0, Delivery(False, "500"), PageState.PENDING, 10, id="first failure"),
        pytest.param(1, Delivery(False, "500"), PageState.PENDING, 20, id="backs off"),
        pytest.param(
            2, Delivery(False, "500"), PageState.UNDELIVERABLE, 0, id="gives up at max_attempts"
        ),
        pytest.param(
            0,
            Delivery(False, "gone", permanent=True),
            PageState.UNDELIVERABLE,
            0,
            id="a permanent failure gives up at once",
        ),
    ],
)
def test_after_an_attempt(attempts: int, delivery: Delivery, state: PageState, wait: int) -> None:
    page = Page(1, ROW, PageState.PENDING, attempts, at(0))

    decision = after_attempt(page, delivery, now=at(1), policy=POLICY, jitter=1.0)

    assert (decision.state, decision.attempts) == (state, attempts + 1)
    assert decision.next_attempt_at == at(1) + timedelta(seconds=wait)
    assert decision.error == delivery.error and decision.reason
