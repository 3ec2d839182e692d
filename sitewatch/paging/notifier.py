"""Sending one page to one URL: the `Notifier` protocol and its Apprise implementation.

Each send runs Apprise's blocking `notify` on one of our own sender threads
(`SenderThreads`), never on Apprise's. Apprise 2.3's `async_notify` would run the
plugin on its process-wide pool instead: sized by the CPU count rather than by us,
shared with every other Apprise user in the process, with a second "coordinator"
thread per sequential plugin (e-mail) that only waits on the first, and threads the
interpreter joins at exit. With no Apprise time limit set (`service_timeout=0`, no
call `timeout`), `notify` calls the plugin on the calling thread itself, so one
page in flight is exactly one of our threads.

The per-URL timeout bounds how long a send may take from the moment it is queued:
the plugin's socket timeouts are lowered to it, and the caller stops waiting when
it runs out. A send still queued then is cancelled unsent; one already talking to
its channel is reported as failed, although the channel may yet accept it.

A notify URL carries credentials: it is never logged, and Apprise's own log
records are filtered (see `SecretsFilter`) while a notifier is open.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from collections.abc import Iterable
from datetime import timedelta
from typing import Protocol
from urllib.parse import parse_qsl, quote, urlsplit

import apprise

from sitewatch.config.notify import silent_apprise
from sitewatch.model import Delivery, PageKind
from sitewatch.model.redaction import SecretsFilter, redact
from sitewatch.paging.senders import SenderThreads

log = logging.getLogger(__name__)

SEND_TIMEOUT = timedelta(seconds=10)
"""How long one delivery attempt to one URL may take, queueing included."""
SENDERS = 8
"""How many pages may be in flight at once (the dispatcher's concurrency)."""
DEDUP_PARAMETERS = {"pagerduty": "dedup", "opsgenie": "alias"}
"""The Apprise URL parameter through which each deduplicating channel takes a key."""
_GOOD_NEWS = tuple(
    kind.prefix for kind in (PageKind.RECOVERED, PageKind.RESOLVED, PageKind.PROBER_OK)
)
_MAX_ERROR = 500
_APPRISE_LOGGER = logging.getLogger("apprise")


class Notifier(Protocol):
    """Deliver one page to one notification URL."""

    async def send(
        self, url: str, title: str, body: str, *, dedup_key: str | None = None
    ) -> Delivery:
        """Send; return how it went (failures are values, never raised).

        `dedup_key` names the page for the channels that deduplicate (PagerDuty,
        Opsgenie): a second delivery under the same key is merged into the first.
        """
        ...


class AppriseNotifier:
    """Send through Apprise on a bounded set of sender threads, one URL per send."""

    def __init__(
        self,
        secrets: Iterable[str],
        *,
        timeout: timedelta = SEND_TIMEOUT,
        senders: int = SENDERS,
    ) -> None:
        self._secrets = with_url_credentials(secrets)
        self._timeout = timeout
        self._senders = SenderThreads(senders)
        self._targets: dict[str, apprise.Apprise] = {}
        self._filter = SecretsFilter(self._secrets)
        _APPRISE_LOGGER.addFilter(self._filter)

    def __repr__(self) -> str:
        return f"AppriseNotifier({len(self._targets)} targets, {self._senders!r})"

    def close(self) -> None:
        """Stop the sender threads, stop filtering Apprise's log records, drop the targets."""
        self._senders.close()
        _APPRISE_LOGGER.removeFilter(self._filter)
        self._targets.clear()

    async def send(
        self, url: str, title: str, body: str, *, dedup_key: str | None = None
    ) -> Delivery:
        """Send one page as plain text; a failure says why, redacted.

        Whatever goes wrong, Apprise or a plugin raising included, comes back as a
        failed delivery: it counts as an attempt, so retries and the fallback follow.
        """
        try:
            return await self._send(url, title, body, dedup_key)
        except Exception as error:
            return self._crashed(error)

    async def _send(self, url: str, title: str, body: str, key: str | None) -> Delivery:
        plain, keyed = channel_url(url, None), channel_url(url, key)
        # A keyed URL differs for every page: build it afresh rather than cache it.
        target = self._target(plain) if keyed == plain else _apprise(keyed, self._timeout)
        if target is None:
            return Delivery(False, "Apprise does not accept this notify URL", permanent=True)
        seconds = self._timeout.total_seconds()
        sending = self._senders.submit(lambda: _notify(target, title, body))
        try:
            async with asyncio.timeout(seconds):
                outcome = await asyncio.wrap_future(sending)
        except TimeoutError:
            if sending.cancel():
                busy = f"all {self._senders.size} sender threads were busy"
                return Delivery(False, f"not sent: {busy} for {seconds:g}s")
            if not sending.done():
                return Delivery(
                    False, f"no answer within {seconds:g}s (the channel may have it all the same)"
                )
            outcome = sending.result()  # it finished in the instant the time ran out
        if isinstance(outcome, BaseException):
            return self._crashed(outcome)
        with outcome:
            if outcome:
                return Delivery(True)
            messages = [entry.message for entry in outcome.logs() if entry.message]
        error = "; ".join(dict.fromkeys(messages)) or f"Apprise reported {outcome.status.name}"
        return Delivery(False, self._redacted(error)[:_MAX_ERROR])

    def _target(self, url: str) -> apprise.Apprise | None:
        target = self._targets.get(url)
        if target is None:
            target = _apprise(url, self._timeout)
            if target is None:
                return None
            self._targets[url] = target
        return target

    def _crashed(self, error: BaseException) -> Delivery:
        # A bug (in Apprise, a plugin or here): logged with its traceback, redacted,
        # since an exception's text may quote the URL it was given.
        trace = "".join(traceback.format_exception(error))
        log.error("sending a page raised an exception:\n%s", self._redacted(trace))
        what = f"sending raised {type(error).__name__}: {error}"
        return Delivery(False, self._redacted(what)[:_MAX_ERROR])

    def _redacted(self, text: str) -> str:
        return redact(text, self._secrets)


def _apprise(url: str, timeout: timedelta) -> apprise.Apprise | None:
    """Return an Apprise object for one URL, its sockets timing out within `timeout`."""
    # No Apprise time limit: with one, Apprise moves the plugin's work to its own
    # pool; ours bounds the send (see the module docstring).
    target = apprise.Apprise(asset=apprise.AppriseAsset(service_timeout=0))
    with silent_apprise():
        if not target.add(url):
            return None
    seconds = timeout.total_seconds()
    for plugin in target:
        plugin.socket_connect_timeout = min(plugin.socket_connect_timeout, seconds)
        plugin.socket_read_timeout = min(plugin.socket_read_timeout, seconds)
        # Most plugins sleep up to 5.5 s before a send that follows another to the
        # same URL. A page must not wait on politeness: the sleep would eat the
        # timeout, and a send abandoned while asleep would still go out after its
        # failure was recorded. The dispatcher bounds the pages in flight, and a
        # channel's "too many requests" is a failed attempt, retried with backoff.
        plugin.request_rate_per_sec = 0
    return target


def _notify(
    target: apprise.Apprise, title: str, body: str
) -> apprise.AppriseResult | BaseException:
    """Send on the calling (sender) thread; return what was raised rather than raise it."""
    try:
        # TEXT: every plugin that renders HTML or Markdown escapes it (a `format=html`
        # mailto gets a text/plain part and an escaped HTML part); the rest send it
        # as it is. Escapes are never interpreted: a backslash-n in a site's text stays text.
        return target.notify(
            body=body,
            title=title,
            notify_type=notify_type(title),
            body_format=apprise.NotifyFormat.TEXT,
            interpret_escapes=False,
        )
    except BaseException as error:
        return error


def notify_type(title: str) -> apprise.NotifyType:
    """Return how Apprise is to present a page: good news, or trouble.

    Trouble is a FAILURE: PagerDuty raises it as `critical` (an INFO would be
    `info`, which urgency rules commonly leave until morning), chat plugins show it
    in red. RECOVERED, RESOLVED and PROBER OK are a SUCCESS.
    """
    return (
        apprise.NotifyType.SUCCESS if title.startswith(_GOOD_NEWS) else apprise.NotifyType.FAILURE
    )


def channel_url(url: str, key: str | None) -> str:
    """Return the URL to send one page through: its key added where a channel takes one.

    Apprise takes PagerDuty's `dedup_key` and Opsgenie's `alias` only from the URL,
    so the key rides on the URL of each send; a key the operator set wins. Opsgenie
    is also told to open an alert for every page (`action=new`) unless the URL says
    otherwise: its default (`map`) turns a page into a note on an alert that this
    Apprise object may never have opened, which Opsgenie never shows and Apprise
    reports as sent.
    """
    schema = url.partition("://")[0].lower()
    _, question, query = url.partition("?")
    present = {name.lower() for name, _ in parse_qsl(query, keep_blank_values=True)}
    extra = []
    if schema == "opsgenie" and "action" not in present:
        extra.append("action=new")
    parameter = DEDUP_PARAMETERS.get(schema)
    if key is not None and parameter is not None and parameter not in present:
        extra.append(f"{parameter}={quote(key, safe='')}")
    if not extra:
        return url
    return f"{url}{'&' if question else '?'}{'&'.join(extra)}"


def with_url_credentials(secrets: Iterable[str]) -> frozenset[str]:
    """Add the user name and password of every URL among `secrets` to them.

    A notify URL written into the config as a whole is one secret; the password
    inside it must be hidden on its own too, should Apprise ever report it alone.
    """
    found = set(secrets)
    for secret in list(found):
        if "://" not in secret:
            continue
        try:
            parts = urlsplit(secret)
            credentials = (parts.username, parts.password)
        except ValueError:
            continue
        # Short user names ("me", "a") would mask ordinary words everywhere: keep
        # only what is long enough to be a credential.
        found.update(part for part in credentials if part and len(part) >= 6)
    return frozenset(found)
