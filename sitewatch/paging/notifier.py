"""Sending one page to one URL: the `Notifier` protocol and its Apprise implementation.

Apprise 2.x runs every plugin's blocking `send()` in its own thread pool, also from
`async_notify` (the plugins it calls "sequential", such as mailto, go to a
coordinator pool), so awaiting it never blocks the event loop. Building an
`Apprise` object parses the URL on the calling thread; that is cheap once the
plugins are loaded, which config validation does at start-up.

A notify URL carries credentials: it is never logged, and Apprise's own log
records are filtered (see `SecretsFilter`) while a notifier is open.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlsplit

import apprise

from sitewatch.config.notify import silent_apprise
from sitewatch.model import Delivery
from sitewatch.model.redaction import SecretsFilter, redact

SEND_TIMEOUT = timedelta(seconds=30)
"""How long one delivery attempt may take before it counts as failed."""
_MAX_ERROR = 500
_APPRISE_LOGGER = logging.getLogger("apprise")


class Notifier(Protocol):
    """Deliver one page to one notification URL."""

    async def send(self, url: str, title: str, body: str) -> Delivery:
        """Send; return how it went (expected failures are values, never raised)."""
        ...


class AppriseNotifier:
    """Send through Apprise, one cached `apprise.Apprise` object per URL."""

    def __init__(self, secrets: Iterable[str], *, timeout: timedelta = SEND_TIMEOUT) -> None:
        self._secrets = with_url_credentials(secrets)
        self._timeout = timeout
        self._targets: dict[str, apprise.Apprise] = {}
        self._filter = SecretsFilter(self._secrets)
        _APPRISE_LOGGER.addFilter(self._filter)

    def __repr__(self) -> str:
        return f"AppriseNotifier({len(self._targets)} targets)"

    def close(self) -> None:
        """Stop filtering Apprise's log records and drop the cached objects."""
        _APPRISE_LOGGER.removeFilter(self._filter)
        self._targets.clear()

    async def send(self, url: str, title: str, body: str) -> Delivery:
        """Send one page; the error of a failure is Apprise's own warning, redacted."""
        target = self._target(url)
        if target is None:
            return Delivery(False, "Apprise does not accept this notify URL", permanent=True)
        limit = self._timeout.total_seconds()
        try:
            # Apprise enforces `timeout` itself; the outer limit only guards against a
            # plugin that ignores it.
            async with asyncio.timeout(limit + 5):
                result = await target.async_notify(body=body, title=title, timeout=limit)
        except TimeoutError:
            return Delivery(False, f"no answer within {limit:.0f}s")
        with result:
            if result:
                return Delivery(True)
            messages = [entry.message for entry in result.logs() if entry.message]
        error = "; ".join(dict.fromkeys(messages)) or f"Apprise reported {result.status.name}"
        return Delivery(False, redact(error, self._secrets)[:_MAX_ERROR])

    def _target(self, url: str) -> apprise.Apprise | None:
        target = self._targets.get(url)
        if target is None:
            target = apprise.Apprise()
            with silent_apprise():
                if not target.add(url):
                    return None
            self._targets[url] = target
        return target


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
