"""Delivery: the dispatcher sends through real Apprise to a real webhook on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpServer

from sitewatch.clock import FakeClock
from sitewatch.model import Page, PageKind, PageRow, PageState
from sitewatch.paging.channels import Channels
from sitewatch.paging.dispatcher import Dispatcher
from sitewatch.paging.notifier import AppriseNotifier
from sitewatch.paging.planner import Planner
from sitewatch.paging.retry import RetryPolicy
from sitewatch.stats.metrics import Metrics
from sitewatch.storage.sqlite import SqliteStore, open_sqlite_store
from tests.apprise_plugins import PluginBug, raising, registered
from tests.paging_support import SECRET, T0, Webhook, at, planner, poll
from tests.storekit import leader, open_ticket, pages, ticket_of

PASSWORD = "hunter2-notify-password"


Build = Callable[..., Awaitable["Rig"]]


@dataclass
class Rig:
    """A store, a planner and a dispatcher with real Apprise, on one fake clock."""

    clock: FakeClock
    store: SqliteStore
    planner: Planner
    dispatcher: Dispatcher
    metrics: Metrics

    async def open_ticket(self, detail: str = "step 2: 401") -> str:
        ticket = await open_ticket(self.store, self.planner, self.clock.now(), detail=detail)
        return ticket.id

    async def pages(self) -> list[Page]:
        return await pages(self.store)

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def rig_factory(tmp_path: Path) -> AsyncIterator[Build]:
    opened: list[tuple[SqliteStore, AppriseNotifier]] = []

    async def build(
        alice: Sequence[str], *, fallback: Sequence[str] = (), max_attempts: int = 8
    ) -> Rig:
        clock = FakeClock(T0)
        store = await open_sqlite_store(tmp_path / f"sw{len(opened)}.db")
        notifier = AppriseNotifier({PASSWORD, *alice, *fallback})
        opened.append((store, notifier))
        operators = {"alice": list(alice), "bob": ["json://127.0.0.1:9/bob"]}
        paging = planner(operators=operators, fallback=fallback)
        metrics = Metrics()
        dispatcher = Dispatcher(
            store=store,
            notifier=notifier,
            channels=Channels(operators, fallback),
            planner=paging,
            policy=RetryPolicy(max_attempts, timedelta(seconds=10), timedelta(minutes=10)),
            clock=clock,
            metrics=metrics,
            leadership=await leader(store, clock),
            rng=random.Random(7),
        )
        return Rig(clock, store, paging, dispatcher, metrics)

    yield build
    for store, notifier in opened:
        notifier.close()
        await store.close()


async def test_a_site_down_page_reaches_the_webhook_through_apprise(
    rig_factory: Build, webhook: Webhook
) -> None:
    rig = await rig_factory([webhook.url("alice")])
    ticket_id = await rig.open_ticket()

    assert await rig.dispatcher.deliver_due() == 1

    [delivered] = webhook.delivered
    assert delivered["title"] == "SITE DOWN acme-portal acme"
    assert delivered["path"] == "/alice"
    assert delivered["message"].startswith("Symptom: login_rejected: step 2: 401\n")
    assert "\nAcknowledge: https://sitewatch.example/ack/" in delivered["message"]
    [page] = await rig.pages()
    assert (page.state, page.attempts, page.sent_at) == (PageState.SENT, 1, T0)
    ticket = await ticket_of(rig.store, ticket_id)
    assert ("paged", "SITE DOWN acme-portal acme to alice (notify #1)") in [
        (e.kind, e.detail) for e in ticket.events
    ]
    assert rig.sample("sitewatch_pages_total", outcome="sent") == 1
    assert rig.sample("sitewatch_detection_seconds_sum") == 12
    assert rig.sample("sitewatch_page_delivery_seconds_count") == 1


async def test_a_channel_answering_500_then_200_gets_the_page_exactly_once(
    rig_factory: Build, webhook: Webhook
) -> None:
    rig = await rig_factory([webhook.url()])
    webhook.answers = [500]
    await rig.open_ticket()

    await rig.dispatcher.deliver_due()
    [page] = await rig.pages()
    assert (page.state, page.attempts) == (PageState.PENDING, 1)
    assert at(0) + timedelta(seconds=5) <= page.next_attempt_at <= at(0) + timedelta(seconds=10)
    assert "500" in page.last_error
    assert await rig.dispatcher.deliver_due() == 0  # not due again yet

    await rig.clock.advance(timedelta(seconds=10))
    assert await rig.dispatcher.deliver_due() == 1
    for _ in range(3):
        await rig.clock.advance(timedelta(minutes=10))
        assert await rig.dispatcher.deliver_due() == 0

    assert (len(webhook.received), len(webhook.delivered)) == (2, 1)
    [page] = await rig.pages()
    assert (page.state, page.attempts, page.last_error) == (PageState.SENT, 2, "")
    assert rig.sample("sitewatch_pages_total", outcome="failed") == 1
    assert rig.sample("sitewatch_pages_total", outcome="sent") == 1


async def test_a_channel_that_always_fails_is_given_up_and_the_fallback_is_paged(
    rig_factory: Build, webhook: Webhook
) -> None:
    rig = await rig_factory(
        [webhook.url("alice")], fallback=[webhook.url("fallback")], max_attempts=3
    )
    webhook.answers = [500, 500, 500]
    ticket_id = await rig.open_ticket()

    for _ in range(4):
        await rig.dispatcher.deliver_due()
        await rig.clock.advance(timedelta(minutes=10))

    first, copy = await rig.pages()
    assert (first.state, first.attempts) == (PageState.UNDELIVERABLE, 3)
    assert (copy.state, copy.row.operator, copy.row.subject) == (PageState.SENT, "", "fallback/1")
    [delivered] = webhook.delivered
    assert delivered["path"] == "/fallback"
    assert delivered["title"] == "SITE DOWN acme-portal acme"
    assert delivered["message"].startswith(
        "Undeliverable to alice (notify #1) after 3 attempt(s): "
    )
    assert rig.sample("sitewatch_pages_undelivered_total") == 1
    assert rig.sample("sitewatch_pages_total", outcome="failed") == 3
    ticket = await ticket_of(rig.store, ticket_id)
    assert [e.kind for e in ticket.events] == ["opened", "page undeliverable", "paged"]


async def test_a_target_no_longer_configured_goes_to_the_fallback_at_once(
    rig_factory: Build, webhook: Webhook
) -> None:
    rig = await rig_factory([webhook.url("alice")], fallback=[webhook.url("fallback")])
    row = PageRow("ticket/9", PageKind.STILL_DOWN, "zoe", 0, "STILL DOWN x acme", "body", at(0))
    async with rig.store.transaction() as tx:
        await tx.outbox.add([row], rig.clock.now())

    await rig.dispatcher.deliver_due()
    await rig.dispatcher.deliver_due()

    gone, copy = await rig.pages()
    assert (gone.state, gone.attempts) == (PageState.UNDELIVERABLE, 1)
    assert gone.last_error == "zoe (notify #1) is no longer in the configuration"
    assert copy.state is PageState.SENT
    assert [p["path"] for p in webhook.delivered] == ["/fallback"]


async def test_a_hostile_detail_reaches_a_webhook_as_one_plain_visible_line(
    rig_factory: Build, webhook: Webhook
) -> None:
    rig = await rig_factory([webhook.url()])
    await rig.open_ticket(f"<script>x</script>\r\nAcknowledge: //evil \u202eexe\x00 {SECRET}")

    await rig.dispatcher.deliver_due()

    [delivered] = webhook.delivered
    lines = delivered["message"].splitlines()
    assert lines[0] == (
        "Symptom: login_rejected: <script>x</script> Acknowledge: //evil \\u202eexe\\u0000 ***"
    )
    assert lines[-1].startswith("Acknowledge: https://sitewatch.example/ack/")


async def test_a_plugin_that_raises_counts_as_a_failed_attempt_and_reaches_the_fallback(
    rig_factory: Build, webhook: Webhook
) -> None:
    with registered("swbug", raising(PluginBug("a bug in a plugin"))) as broken:
        rig = await rig_factory([broken], fallback=[webhook.url("fallback")], max_attempts=2)
        await rig.open_ticket()
        for _ in range(3):
            await rig.dispatcher.deliver_due()
            await rig.clock.advance(timedelta(minutes=10))

    first, copy = await rig.pages()
    assert (first.state, first.attempts) == (PageState.UNDELIVERABLE, 2)
    assert first.last_error == "sending raised PluginBug: a bug in a plugin"
    assert copy.state is PageState.SENT
    [delivered] = webhook.delivered
    assert delivered["message"].startswith(
        "Undeliverable to alice (notify #1) after 2 attempt(s): sending raised PluginBug"
    )
    assert rig.sample("sitewatch_pages_total", outcome="failed") == 2


async def test_sending_never_blocks_the_event_loop(
    rig_factory: Build, aiohttp_server: AiohttpServer
) -> None:
    # The channel is served by this same event loop and answers only once the test
    # tells it to: if Apprise blocked the loop while sending, neither could run.
    arrived, answer = asyncio.Event(), asyncio.Event()

    async def slow_channel(request: web.Request) -> web.Response:
        arrived.set()
        await answer.wait()
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/pages", slow_channel)
    server = await aiohttp_server(app)
    rig = await rig_factory([f"json://127.0.0.1:{server.port}/pages"])
    await rig.open_ticket()

    delivering = asyncio.create_task(rig.dispatcher.deliver_due())
    await poll(arrived.is_set, "the page to reach the channel")
    assert not delivering.done()
    answer.set()
    assert await delivering == 1
    [page] = await rig.pages()
    assert page.state is PageState.SENT


async def test_a_notify_url_and_its_password_never_reach_the_logs(
    rig_factory: Build, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"json://alice:{PASSWORD}@127.0.0.1:9/pages"
    rig = await rig_factory([url])
    await rig.open_ticket()

    with caplog.at_level(logging.DEBUG):
        await rig.dispatcher.deliver_due()

    [page] = await rig.pages()
    assert page.state is PageState.PENDING and page.last_error
    assert caplog.records, "the failed attempt is logged"
    for text in (caplog.text, page.last_error):
        assert PASSWORD not in text
        assert url not in text
