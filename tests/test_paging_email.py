"""E-mail pages: the app pages through real Apprise to a real SMTP server on 127.0.0.1.

A hostile site's text (markup, bidi overrides, control characters, the probe
password it echoed) and a hostile resolution note reach the mailbox as plain text,
with no live markup, nothing invisible and no secret, in the message's headers or
any MIME part.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from aiohttp.test_utils import TestClient
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pytest_aiohttp import AiohttpClient

from sitewatch.api.common import SERVICE, SETTINGS
from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import load_settings
from sitewatch.model import (
    Cause,
    Classification,
    Delivery,
    Outage,
    PageState,
    ResultKind,
    Transition,
    TransitionKind,
)
from sitewatch.paging.notifier import AppriseNotifier
from tests.builders import make_check
from tests.harness import ENV, PROBE_PASSWORD, ServiceConfig, logon_check
from tests.paging_support import T0, poll
from tests.storekit import pages

SMTP_USER = "sitewatch-mailer"
SMTP_PASSWORD = "smtp-pa55word-for-tests"

# What a hostile site can put into a probe's detail; all of it within the part of the
# detail a page shows (its first line stays under 160 characters).
HOSTILE_DETAIL = (
    "302 /<script>alert(1)</script>"
    f"?p={quote_plus(PROBE_PASSWORD)}\r\n"
    f'<img src=x onerror=f()><a href="//e.example">ack</a> '
    f"{PROBE_PASSWORD} \u202egnp.exe\u202c\x1b[2J\x00"
)
HOSTILE_NOTE = (
    '<b>fixed</b> <a href="https://evil.example">see</a> \u2066x\u2069 [ok](https://e.example)'
)

# aiosmtpd sets its own deprecated `Session.login_data` on every logon.
pytestmark = pytest.mark.filterwarnings("ignore:Session.login_data is deprecated")


@dataclass
class Mailbox:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that asks for a password."""

    port: int = 0
    raw: list[bytes] = field(default_factory=list)

    def url(self, extra: str = "") -> str:
        """Return the Apprise mailto URL that delivers to this server over plain SMTP."""
        return (
            f"mailto://{SMTP_USER}:{SMTP_PASSWORD}@127.0.0.1:{self.port}"
            f"?mode=insecure&from=sitewatch@example.com&to=olivia@example.com{extra}"
        )

    @property
    def messages(self) -> list[EmailMessage]:
        """Return every message received, parsed."""
        return [
            email.message_from_bytes(raw, _class=EmailMessage, policy=email.policy.default)
            for raw in self.raw
        ]

    async def handle_DATA(  # noqa: N802 (the name aiosmtpd calls)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
    ) -> str:
        """Keep the message as it arrived."""
        assert isinstance(envelope.original_content, bytes)
        self.raw.append(envelope.original_content)
        return "250 OK"


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        SMTP_USER.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


@pytest.fixture
async def mailbox() -> AsyncIterator[Mailbox]:
    box = Mailbox()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(
            box, hostname="127.0.0.1", authenticator=_authenticate, auth_require_tls=False
        ),
        "127.0.0.1",
        0,
    )
    box.port = server.sockets[0].getsockname()[1]
    yield box
    server.close()
    await server.wait_closed()


async def page_hostile_outage(
    tmp_path: Path, aiohttp_client: AiohttpClient, notify: str
) -> TestClient:  # type: ignore[type-arg]
    """Start the app paging olivia at `notify`; open and resolve a hostile ticket; deliver."""
    config = ServiceConfig(
        tmp_path,
        # Port 9 discards: the check exists for its secrets, its probes are not used.
        checks={"acme-portal": logon_check("acme-portal", "http://127.0.0.1:9")},
        notify=notify,
        extra="public_url: https://sitewatch.example\n",
    )
    clock = FakeClock(T0)
    client = await aiohttp_client(build_app(load_settings(config.write(), ENV), clock=clock))
    service = client.app[SERVICE]
    onset = clock.now() - timedelta(seconds=10)
    outage = Outage(onset, ResultKind.LOGIN_REJECTED, Classification.EMERGENCY, HOSTILE_DETAIL)
    started = Transition(TransitionKind.STARTED, clock.now(), outage, "confirmed")
    spec = service.settings.check("acme-portal")
    assert spec is not None
    async with service.store.transaction() as tx:
        record = await service.recorder.record(tx, spec, started, clock.now())
    assert record.ticket is not None
    ticket_id = record.ticket.id
    await delivered(client, ticket_id, 1)  # SITE DOWN
    await service.tickets.resolve(ticket_id, Cause.SOFTWARE, "olivia", HOSTILE_NOTE)
    await delivered(client, ticket_id, 2)  # RESOLVED
    outbox = await pages(service.store, ticket_id)
    assert [(p.state, p.attempts) for p in outbox] == [(PageState.SENT, 1)] * 2, outbox
    return client


async def delivered(client: TestClient, ticket_id: str | None, count: int) -> None:  # type: ignore[type-arg]
    """Deliver what is due (the service's own loop may claim it first) until `count` went out."""
    service = client.app[SERVICE]

    async def done() -> bool:
        await service.dispatcher.deliver_due()
        outbox = await pages(service.store, ticket_id)
        return sum(p.state is not PageState.PENDING or p.attempts > 0 for p in outbox) >= count

    await poll(done, f"{count} page(s) delivered or tried")


def secrets_of(client: TestClient, notify: str) -> set[str]:  # type: ignore[type-arg]
    """Return every secret that must stay out of a page, in the spellings a page could use."""
    secrets = set(client.app[SETTINGS].secrets_about("acme-portal"))
    assert {PROBE_PASSWORD, notify} <= secrets
    secrets |= {SMTP_PASSWORD, quote_plus(PROBE_PASSWORD)}
    return secrets


def texts_of(message: EmailMessage) -> list[str]:
    """Return the message's headers and every decoded MIME part, as text."""
    texts = [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if not part.is_multipart():
            assert isinstance(part, EmailMessage)
            texts.append(part.get_content())
    return texts


def assert_nothing_hidden_or_secret(message: EmailMessage, secrets: set[str]) -> None:
    for text in texts_of(message):
        for secret in secrets:
            assert secret not in text
        hidden = [c for c in text if unicodedata.category(c) in ("Cc", "Cf") and c not in "\r\n"]
        assert hidden == [], text


async def test_an_email_page_about_a_hostile_site_is_plain_text_with_nothing_live_or_secret(
    tmp_path: Path, aiohttp_client: AiohttpClient, mailbox: Mailbox
) -> None:
    client = await page_hostile_outage(tmp_path, aiohttp_client, mailbox.url())

    down, resolved = mailbox.messages
    assert (down["Subject"], resolved["Subject"]) == (
        "SITE DOWN acme-portal acme",
        "RESOLVED acme-portal acme",
    )
    for message in (down, resolved):
        assert (message.is_multipart(), message.get_content_type()) == (False, "text/plain")
        assert_nothing_hidden_or_secret(message, secrets_of(client, mailbox.url()))
    lines = down.get_content().splitlines()
    assert lines[0] == (
        "Symptom: login_rejected: 302 /<script>alert(1)</script>?p=*** "
        '<img src=x onerror=f()><a href="//e.example">ack</a> '
        "*** \\u202egnp.exe\\u202c\\u001b[2J\\u0000"
    )
    assert [line for line in lines if line.startswith("Acknowledge: ")] == [lines[-1]]
    assert lines[-1].startswith("Acknowledge: https://sitewatch.example/ack/")
    assert "Note: <b>fixed</b> " in resolved.get_content()


async def test_an_html_mailto_gets_the_page_escaped_with_no_markup_but_line_breaks(
    tmp_path: Path, aiohttp_client: AiohttpClient, mailbox: Mailbox
) -> None:
    # An operator may ask Apprise for HTML mail (`format=html`): Apprise then
    # converts the plain text, escaping every character markup is made of.
    client = await page_hostile_outage(tmp_path, aiohttp_client, mailbox.url("&format=html"))

    for message in mailbox.messages:
        assert message.get_content_type() == "multipart/alternative"
        plain, html = (part for part in message.walk() if not part.is_multipart())
        assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
        markup = html.get_content()
        assert set(re.findall(r"<\s*/?\s*([A-Za-z!?][^\s>/]*)", markup)) <= {"br"}, markup
        assert "onerror" not in markup or "&lt;img" in markup
        assert_nothing_hidden_or_secret(message, secrets_of(client, mailbox.url("&format=html")))
    down_html = mailbox.messages[0].get_body(("html",))
    assert down_html is not None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in down_html.get_content()


async def test_the_smtp_password_in_the_notify_url_never_reaches_the_log(
    tmp_path: Path,
    aiohttp_client: AiohttpClient,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    wrong = mailbox.url().replace(SMTP_PASSWORD, "not-the-" + SMTP_PASSWORD)

    with caplog.at_level("DEBUG"):
        client = await page_once(tmp_path, aiohttp_client, wrong)

    [page] = await pages(client.app[SERVICE].store)
    assert page.state is PageState.PENDING and page.last_error
    assert mailbox.raw == []
    for text in (caplog.text, page.last_error):
        assert SMTP_PASSWORD not in text
        assert "not-the-" not in text


async def page_once(tmp_path: Path, aiohttp_client: AiohttpClient, notify: str) -> TestClient:  # type: ignore[type-arg]
    """Start the app paging olivia at `notify`; open a ticket; try its page once."""
    config = ServiceConfig(tmp_path, notify=notify, extra="public_url: https://x.example\n")
    clock = FakeClock(T0)
    client = await aiohttp_client(build_app(load_settings(config.write(), ENV), clock=clock))
    service = client.app[SERVICE]
    outage = Outage(T0, ResultKind.CONNECT, Classification.EMERGENCY, "refused")
    started = Transition(TransitionKind.STARTED, T0, outage, "confirmed")
    async with service.store.transaction() as tx:
        await service.recorder.record(tx, make_check("acme-portal"), started, T0)
    await delivered(client, None, 1)
    return client


async def test_a_second_email_right_after_the_first_is_not_held_back_by_a_throttle(
    mailbox: Mailbox,
) -> None:
    # Apprise's e-mail plugin waits 5.5 s between two sends to one URL; a pager
    # cannot, and a wait inside the per-URL timeout would make the second fail.
    notifier = AppriseNotifier({SMTP_PASSWORD}, timeout=timedelta(seconds=3))
    try:
        first = await notifier.send(mailbox.url(), "SITE DOWN a acme", "first")
        second = await notifier.send(mailbox.url(), "SITE DOWN b acme", "second")
    finally:
        notifier.close()

    assert (first, second) == (Delivery(True), Delivery(True))
    assert [m["Subject"] for m in mailbox.messages] == ["SITE DOWN a acme", "SITE DOWN b acme"]
