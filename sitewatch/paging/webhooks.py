"""Ticket webhooks: each change of a ticket POSTed as JSON to the help desk's URLs.

A call is an outbox row like a page (`operator` `#webhook`), claimed, sent, retried
with backoff and recorded by the dispatcher: at least once, in order per ticket
(a row waits while an earlier one of its ticket to the same URL is pending), with a
`key` unique to the change so that a repeat is recognised. The sender posts the
row's body as it was written when the change committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import aiohttp

from sitewatch import __version__
from sitewatch.model import Delivery
from sitewatch.model.redaction import redact

TIMEOUT = timedelta(seconds=10)
_MAX_ERROR = 300


class WebhookSender:
    """POST ticket changes to webhook URLs (the `Notifier` shape, for the dispatcher)."""

    def __init__(self, secrets: Iterable[str], *, timeout: timedelta = TIMEOUT) -> None:
        self._secrets = frozenset(secrets)
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def send(
        self, url: str, title: str, body: str, *, dedup_key: str | None = None
    ) -> Delivery:
        """POST `body` (JSON) to `url`; a 2xx answer is delivered, anything else a failure."""
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"sitewatch/{__version__} (ticket webhook)",
        }
        if dedup_key:
            headers["Idempotency-Key"] = dedup_key
        try:
            async with self._client().post(
                url, data=body.encode(), headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return Delivery(True)
                # Every refusal is retried: a help desk being redeployed answers 404
                # or 503 for a minute, and giving up early would lose the change.
                return Delivery(False, f"the webhook answered {response.status} {response.reason}")
        except (aiohttp.ClientError, TimeoutError) as error:
            what = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
            return Delivery(
                False, redact(f"the webhook failed: {what}", self._secrets)[:_MAX_ERROR]
            )

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._timeout.total_seconds())
            self._session = aiohttp.ClientSession(timeout=timeout)
        return self._session
