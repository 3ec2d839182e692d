"""The notifier: one page to one URL, as plain text, on bounded threads, within a timeout.

Real Apprise throughout: a real webhook on 127.0.0.1, and channels of our own
plugged into Apprise (`tests/apprise_plugins.py`) where a test must hold a send.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import apprise
import pytest

from sitewatch.model import Delivery, PageKind, PageRow
from sitewatch.paging.notifier import (
    AppriseNotifier,
    channel_url,
    with_url_credentials,
)
from tests.apprise_plugins import HeldChannel, PluginBug, raising, registered
from tests.paging_support import Webhook, at, poll

PASSWORD = "hunter2-notify-password"
SHORT = timedelta(milliseconds=300)


@pytest.fixture
def held() -> Iterator[tuple[HeldChannel, str]]:
    """A channel that holds every send until the test releases it, and its URL."""
    channel = HeldChannel()
    with registered("swheld", channel.send) as url:
        yield channel, url
        channel.release.set()


@pytest.fixture
async def notifier() -> AsyncIterator[AppriseNotifier]:
    """A notifier with 2 sender threads and a short timeout."""
    made = AppriseNotifier({PASSWORD}, timeout=SHORT, senders=2)
    yield made
    made.close()


async def test_a_page_reaches_apprise_as_plain_text_exactly_as_rendered(
    webhook: Webhook,
) -> None:
    notifier = AppriseNotifier((), senders=1)
    body = 'Symptom: content: <b>bold</b> &amp; *stars* [a] (b) \\n "quoted"\nAcknowledge: x'
    try:
        delivery = await notifier.send(webhook.url(), "SITE DOWN acme-portal acme", body)
    finally:
        notifier.close()

    assert delivery == Delivery(True)
    [page] = webhook.delivered
    assert (page["title"], page["message"]) == ("SITE DOWN acme-portal acme", body)


async def test_each_send_runs_on_one_of_a_bounded_number_of_sender_threads(
    held: tuple[HeldChannel, str],
) -> None:
    channel, url = held
    notifier = AppriseNotifier((), timeout=timedelta(seconds=30), senders=2)
    try:
        sends = [asyncio.create_task(notifier.send(url, "t", f"page {i}")) for i in range(6)]
        await poll(lambda: channel.waiting == 2, "two sends to reach the channel")
        channel.release.set()
        deliveries = await asyncio.gather(*sends)
    finally:
        notifier.close()

    assert deliveries == [Delivery(True)] * 6
    assert sorted(channel.bodies) == [f"page {i}" for i in range(6)]
    assert channel.most_waiting == 2
    assert set(channel.threads) == {"sitewatch-sender-1", "sitewatch-sender-2"}


async def test_a_channel_that_does_not_answer_within_the_timeout_fails_the_attempt(
    held: tuple[HeldChannel, str], notifier: AppriseNotifier
) -> None:
    channel, url = held

    delivery = await notifier.send(url, "t", "b")

    assert delivery == Delivery(
        False, "no answer within 0.3s (the channel may have it all the same)"
    )
    assert channel.threads  # it had started: the channel may still take it


async def test_a_send_still_queued_when_its_time_runs_out_is_never_sent(
    held: tuple[HeldChannel, str], webhook: Webhook
) -> None:
    channel, url = held
    notifier = AppriseNotifier((), timeout=SHORT, senders=1)
    try:
        holding = asyncio.create_task(notifier.send(url, "t", "holds the only thread"))
        await poll(lambda: channel.waiting == 1, "the only sender thread to be held")
        queued = await notifier.send(webhook.url("queued"), "t", "waits its turn in vain")
        await holding
        channel.release.set()
        after = await notifier.send(webhook.url("after"), "t", "goes once the thread is free")
    finally:
        notifier.close()

    assert queued == Delivery(False, "not sent: all 1 sender threads were busy for 0.3s")
    assert after == Delivery(True)
    assert [page["path"] for page in webhook.received] == ["/after"]


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(RuntimeError(f"cannot post to json://bot:{PASSWORD}@x"), id="an Exception"),
        pytest.param(PluginBug(f"cannot post to json://bot:{PASSWORD}@x"), id="a BaseException"),
    ],
)
async def test_a_plugin_that_raises_gives_a_failed_delivery_never_an_exception(
    error: BaseException, notifier: AppriseNotifier, caplog: pytest.LogCaptureFixture
) -> None:
    with registered("swbug", raising(error)) as url, caplog.at_level(logging.DEBUG):
        delivery = await notifier.send(url, "t", "b")

    assert not delivery.ok and not delivery.permanent
    assert delivery.error
    for text in (delivery.error, caplog.text):
        assert PASSWORD not in text
    if isinstance(error, PluginBug):
        # Apprise let it through: a bug, logged with its traceback.
        assert delivery.error == "sending raised PluginBug: cannot post to json://bot:***@x"
        assert "Traceback" in caplog.text and "PluginBug" in caplog.text


async def test_a_url_apprise_cannot_use_is_a_permanent_failure(notifier: AppriseNotifier) -> None:
    delivery = await notifier.send(f"nosuchservice://{PASSWORD}@x", "t", "b")

    assert delivery == Delivery(False, "Apprise does not accept this notify URL", permanent=True)


def test_the_password_inside_a_notify_url_is_a_secret_of_its_own() -> None:
    url = f"mailtos://sitewatch-bot:{PASSWORD}@mail.example?to=alice@example.com"

    secrets = with_url_credentials({url, "a-token"})

    assert secrets == {url, "a-token", PASSWORD, "sitewatch-bot"}
    assert with_url_credentials({"json://me:pw@host/x"}) == {"json://me:pw@host/x"}


# --- The page's key, for channels that deduplicate ----------------------------------

ROW = PageRow("ticket/12", PageKind.STILL_DOWN, "alice", 1, "t", "b", at(0), "12", 1, 3)
KEY = "sitewatch:ticket/12:still_down:1:3:alice:1"


def test_a_pages_key_is_its_subject_kind_level_round_and_target() -> None:
    assert ROW.key == KEY
    fallback = PageRow("fallback/7", PageKind.SITE_DOWN, "", 0, "t", "b", at(0))
    assert fallback.key == "sitewatch:fallback/7:site_down:0:0:fallback:0"


K = "sitewatch%3Aticket%2F12%3Astill_down%3A1%3A3%3Aalice%3A1"
"""KEY, as it rides on a URL."""


@pytest.mark.parametrize(
    ("url", "sent_to", "settings"),
    [
        pytest.param(
            "pagerduty://integration1@apikey1",
            f"pagerduty://integration1@apikey1?dedup={K}",
            {"dedup": KEY, "action": "trigger"},
            id="PagerDuty: dedup_key",
        ),
        pytest.param(
            "opsgenie://apikey1/#team1?priority=4",
            f"opsgenie://apikey1/#team1?priority=4&action=new&alias={K}",
            {"alias": KEY, "action": "new"},
            id="Opsgenie: alias, and an alert for every page",
        ),
        pytest.param(
            "opsgenie://apikey1?ALIAS=mine&Action=close",
            "opsgenie://apikey1?ALIAS=mine&Action=close",
            {"alias": "mine", "action": "close"},
            id="Opsgenie: what the operator set wins",
        ),
        pytest.param(
            "pagerduty://integration1@apikey1?dedup=mine",
            "pagerduty://integration1@apikey1?dedup=mine",
            {"dedup": "mine"},
            id="PagerDuty: a key of the operator's wins",
        ),
    ],
)
def test_a_deduplicating_channel_gets_the_pages_key_through_its_url(
    url: str, sent_to: str, settings: dict[str, str]
) -> None:
    assert channel_url(url, KEY) == sent_to
    plugin = apprise.Apprise.instantiate(sent_to)
    assert plugin is not None
    assert {name: getattr(plugin, name) for name in settings} == settings


def test_only_opsgenie_urls_change_when_a_page_has_no_key() -> None:
    assert channel_url("opsgenie://apikey1", None) == "opsgenie://apikey1?action=new"
    for url in ("pagerduty://integration1@apikey1", "json://127.0.0.1:9/p?x=1"):
        assert channel_url(url, None) == url
    assert channel_url("json://127.0.0.1:9/p?x=1", KEY) == "json://127.0.0.1:9/p?x=1"


async def test_trouble_goes_out_as_a_failure_and_good_news_as_a_success(
    webhook: Webhook,
) -> None:
    notifier = AppriseNotifier(())
    titles = ["SITE DOWN a b", "STILL DOWN a b", "PROBER FAULT", "RECOVERED a b", "RESOLVED a b"]
    try:
        for title in [*titles, "PROBER OK"]:
            assert await notifier.send(webhook.url(), title, "body") == Delivery(True)
    finally:
        notifier.close()

    assert [page["type"] for page in webhook.delivered] == ["failure"] * 3 + ["success"] * 3
