"""Acknowledge links in the running app: GET shows, POST acknowledges, bad links are refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from sitewatch.api.common import SERVICE
from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import load_settings
from sitewatch.model import (
    Cause,
    Classification,
    Outage,
    PageKind,
    PageState,
    ResultKind,
    TicketState,
    Transition,
    TransitionKind,
)
from tests.builders import make_check
from tests.harness import ENV, OPERATOR_TOKEN, ServiceConfig
from tests.paging_support import T0, Webhook
from tests.storekit import pages


@dataclass
class Site:
    """The running app on a fake clock, with one open ticket and its SITE DOWN page."""

    client: TestClient  # type: ignore[type-arg]
    clock: FakeClock
    ticket_id: str
    link: str
    """The path of the acknowledge link in the page, `/ack/{token}`."""

    async def ticket_state(self) -> tuple[TicketState, str | None]:
        ticket = await self.client.app[SERVICE].tickets.get(self.ticket_id)
        assert ticket is not None
        return ticket.state, ticket.acknowledged_by


@pytest.fixture
async def site(tmp_path: Path, aiohttp_client: AiohttpClient, webhook: Webhook) -> Site:
    config = ServiceConfig(
        tmp_path, notify=webhook.url(), extra="public_url: https://sitewatch.example\n"
    )
    settings = load_settings(config.write(), ENV)
    clock = FakeClock(T0)
    client = await aiohttp_client(build_app(settings, clock=clock))
    onset = clock.now() - timedelta(seconds=10)
    outage = Outage(
        onset, ResultKind.LOGIN_REJECTED, Classification.EMERGENCY, "step 2: got 401 <b>"
    )
    started = Transition(TransitionKind.STARTED, clock.now(), outage, "confirmed")
    service = client.app[SERVICE]
    async with service.store.transaction() as tx:
        record = await service.recorder.record(tx, make_check("acme-portal"), started, clock.now())
    assert record.ticket is not None
    [page] = await pages(service.store, record.ticket.id)
    found = re.search(r"Acknowledge: https://sitewatch\.example(/ack/\S+)", page.row.body)
    assert found is not None
    return Site(client, clock, record.ticket.id, found.group(1))


async def test_following_the_link_shows_the_ticket_and_changes_nothing(site: Site) -> None:
    response = await site.client.get(site.link)
    html = await response.text()

    assert response.status == 200
    assert response.content_type == "text/html"
    for fact in ("acme-portal", "acme", "login_rejected: step 2: got 401 &lt;b&gt;"):
        assert fact in html
    assert "2026-11-26T09:59:50Z" in html
    assert '<form method="post"><button type="submit">Acknowledge as olivia' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert await site.ticket_state() == (TicketState.OPEN, None)


async def test_posting_the_link_acknowledges_as_the_operator_it_was_issued_to(
    site: Site,
) -> None:
    response = await site.client.post(site.link)

    assert response.status == 200
    assert "Acknowledged as olivia at 2026-11-26T10:00:00Z" in await response.text()
    assert await site.ticket_state() == (TicketState.ACKNOWLEDGED, "olivia")
    ticket = await site.client.app[SERVICE].tickets.get(site.ticket_id)
    assert ticket is not None
    assert ("acknowledged", "olivia", "acknowledged from a page link") in [
        (e.kind, e.by, e.detail) for e in ticket.events
    ]

    again = await site.client.post(site.link)
    assert again.status == 200
    assert "Already acknowledged by olivia" in await again.text()


async def test_a_resolved_ticket_cannot_be_acknowledged_by_link(site: Site) -> None:
    await site.client.app[SERVICE].tickets.resolve(site.ticket_id, Cause.SOFTWARE, "olivia", "")

    shown = await site.client.get(site.link)
    posted = await site.client.post(site.link)

    assert shown.status == 200 and "Resolved by olivia" in await shown.text()
    assert "<form" not in await shown.text()
    assert posted.status == 409
    assert "already resolved" in await posted.text()


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda link: link[:-3] + "xyz", id="tampered"),
        pytest.param(lambda link: "/ack/not-a-token", id="malformed"),
        pytest.param(lambda link: link + "." + link.rsplit("/", 1)[1], id="extended"),
    ],
)
async def test_a_bad_link_is_refused_with_a_plain_explanation(site: Site, mangle: object) -> None:
    link = mangle(site.link)  # type: ignore[operator]

    for response in (await site.client.get(link), await site.client.post(link)):
        assert response.status == 403
        assert response.content_type == "text/html"
        assert "acknowledge link" in await response.text()
    assert await site.ticket_state() == (TicketState.OPEN, None)


async def test_a_link_stops_working_once_its_operator_is_removed_from_the_config(
    site: Site, tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    # olivia leaves: the same service (same database, same signing key) restarts
    # with oscar in her place.
    await site.client.close()
    config = tmp_path / "sitewatch.yaml"
    config.write_text(config.read_text().replace("olivia", "oscar"))
    settings = load_settings(config, ENV)
    assert [operator.id for operator in settings.operators] == ["oscar"]
    client = await aiohttp_client(build_app(settings, clock=site.clock))

    for response in (await client.get(site.link), await client.post(site.link)):
        html = await response.text()
        assert response.status == 403
        assert "sent to olivia, who is no longer an operator of this sitewatch" in html
        assert "<form" not in html and "acme-portal" not in html
    ticket = await client.app[SERVICE].tickets.get(site.ticket_id)
    assert ticket is not None
    assert (ticket.state, ticket.acknowledged_by) == (TicketState.OPEN, None)


async def test_an_expired_link_is_refused(site: Site) -> None:
    await site.clock.advance(timedelta(hours=24, seconds=1))

    response = await site.client.post(site.link)

    assert response.status == 403
    assert "expired at 2026-11-27T10:00:00+00:00" in await response.text()
    assert await site.ticket_state() == (TicketState.OPEN, None)


async def test_resolving_through_the_api_pages_everyone_paged_with_resolved(
    site: Site, webhook: Webhook
) -> None:
    # The loop may have claimed it first; either way it reaches the webhook once.
    await site.client.app[SERVICE].dispatcher.deliver_due()
    await webhook.wait_for(1)
    response = await site.client.post(
        f"/api/v1/tickets/{site.ticket_id}/resolve",
        json={"cause": "network", "note": "switch replaced"},
        headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
    )

    assert response.status == 200
    outbox = await pages(site.client.app[SERVICE].store, site.ticket_id)
    assert [(p.row.kind, p.row.operator, p.state) for p in outbox] == [
        (PageKind.SITE_DOWN, "olivia", PageState.SENT),
        (PageKind.RESOLVED, "olivia", PageState.PENDING),
    ]
    assert "Resolved: 2026-11-26T10:00:00Z by olivia, cause network" in outbox[1].row.body
