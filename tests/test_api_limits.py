"""Limits: requests per minute per token, windows not ended per customer, list pages.

Time is a FakeClock: a bucket refills only when a test advances it.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from sitewatch.api.bodies.responses import (
    CheckBody,
    CheckList,
    TicketBody,
    TicketList,
    WindowBody,
    WindowList,
)
from sitewatch.api.common import respond_listing
from sitewatch.api.limits import LIMITER, RequestLimiter
from sitewatch.clock import FakeClock
from sitewatch.config.settings import Limits
from sitewatch.model import (
    CheckSpec,
    Classification,
    LocationStatus,
    Principal,
    ResultKind,
    Role,
    State,
    Ticket,
    TicketState,
    Verdict,
    Window,
)
from sitewatch.model.windows import MaintenanceKind
from sitewatch.outages.board import CheckView
from tests.api_harness import Api, start_api
from tests.test_api_maintenance import NOW, assert_error, declaration, later


async def limited(tmp_path: Path, aiohttp_client: AiohttpClient, limits: str) -> Api:
    return await start_api(tmp_path, aiohttp_client, extra=f"limits: {limits}\n")


async def test_the_defaults_are_600_requests_a_minute_and_200_windows() -> None:
    assert (Limits().requests_per_minute, Limits().windows) == (600, 200)


async def test_a_token_over_its_requests_per_minute_gets_429_with_retry_after(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    api = await limited(tmp_path, aiohttp_client, "{requests_per_minute: 6}")
    for _ in range(6):
        assert (await api.call("GET", "/api/v1/checks", "customer"))[0] == 200
    async with api.client.get(
        "/api/v1/checks", headers={"Authorization": "Bearer acme-token-for-tests"}
    ) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "10"
        assert_error(
            await response.json(),
            "too many requests: at most 6 a minute per token (limits.requests_per_minute)",
            "try again in 10 s",
        )


async def test_a_limited_token_is_admitted_again_once_its_retry_after_has_passed(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    api = await limited(tmp_path, aiohttp_client, "{requests_per_minute: 6}")
    for _ in range(6):
        await api.call("GET", "/api/v1/checks", "customer")
    assert (await api.call("GET", "/api/v1/checks", "customer"))[0] == 429
    await api.clock.advance(timedelta(seconds=10))
    assert (await api.call("GET", "/api/v1/checks", "customer"))[0] == 200


async def test_the_bucket_refills_at_the_rate_of_the_limit_and_holds_one_minute_at_most() -> None:
    clock = FakeClock()
    limiter = RequestLimiter(6, clock)
    alice = Principal(Role.CUSTOMER, "acme")

    def burst() -> list[int | None]:
        return [limiter.admit(alice) for _ in range(7)]

    assert burst() == [None] * 6 + [10]
    await clock.advance(9)
    assert limiter.admit(alice) == 1
    await clock.advance(1)
    assert (limiter.admit(alice), limiter.admit(alice)) == (None, 10)
    await clock.advance(3600)
    assert burst() == [None] * 6 + [10], "a full bucket holds one minute's worth, no more"


async def test_each_token_has_its_own_bucket_and_operators_have_one_too(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    api = await limited(tmp_path, aiohttp_client, "{requests_per_minute: 3}")
    for _ in range(3):
        await api.call("GET", "/api/v1/tickets")
    assert (await api.call("GET", "/api/v1/tickets"))[0] == 429
    assert (await api.call("GET", "/api/v1/checks", "customer"))[0] == 200
    assert (await api.call("GET", "/api/v1/checks", "other customer"))[0] == 200


async def test_unknown_tokens_are_401_and_get_no_bucket(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    api = await limited(tmp_path, aiohttp_client, "{requests_per_minute: 1}")
    for n in range(50):
        headers = {"Authorization": f"Bearer garbage-{n}"}
        async with api.client.get("/api/v1/checks", headers=headers) as response:
            assert response.status == 401
    assert api.app[LIMITER].principals == 0
    assert (await api.call("GET", "/api/v1/checks", "customer"))[0] == 200
    assert api.app[LIMITER].principals == 1


async def test_requests_without_a_token_are_not_counted(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    api = await limited(tmp_path, aiohttp_client, "{requests_per_minute: 1}")
    for path in ("/healthz", "/api/v1/openapi.json", "/metrics", "/healthz"):
        assert (await api.call("GET", path, "nobody"))[0] == 200
    assert api.app[LIMITER].principals == 0


async def test_too_many_windows_not_ended_is_a_429_with_retry_after(
    tmp_path: Path, aiohttp_client: AiohttpClient
) -> None:
    api = await limited(tmp_path, aiohttp_client, "{windows: 2}")
    for hours in (1, 2):
        body = declaration(start=later(hours=hours), end=later(hours=hours + 1))
        assert (await api.call("POST", "/api/v1/maintenance", "customer", json=body))[0] == 201
    async with api.client.post(
        "/api/v1/maintenance",
        json=declaration(),
        headers={"Authorization": "Bearer acme-token-for-tests"},
    ) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "60"
        assert_error(await response.json(), "customer acme already has 2 windows that have not")
    other = declaration(customer="globex")
    assert (await api.call("POST", "/api/v1/maintenance", "other customer", json=other))[0] == 201


async def every_page(api: Api, path: str, key: str, who: str, limit: int) -> list[list[str]]:
    """Follow `next` from the first page to the last; return each page's ids."""
    pages: list[list[str]] = []
    query = f"limit={limit}"
    while True:
        status, page = await api.call("GET", f"{path}?{query}", who)
        assert status == 200, page
        pages.append([item["id"] for item in page[key]])
        if "next" not in page:
            return pages
        query = f"limit={limit}&after={page['next']}"


async def test_windows_are_listed_in_pages_newest_first_each_once(api: Api) -> None:
    made = [
        await api.window(start=NOW + timedelta(hours=n), end=NOW + timedelta(hours=n + 1))
        for n in range(1, 24)
    ]
    pages = await every_page(api, "/api/v1/maintenance", "maintenance", "customer", 5)
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [i for page in pages for i in page] == [w.id for w in reversed(made)]


async def test_tickets_are_listed_in_pages_newest_first_each_once(api: Api) -> None:
    checks = [("portal", "acme"), ("shop", "acme"), ("webmail", "globex")]
    made = []
    for n in range(13):
        made.append(await api.ticket(*checks[n % 3], onset_ago=30 + n))
        await api.call("POST", f"/api/v1/tickets/{made[-1].id}/resolve", json={"cause": "network"})
    pages = await every_page(api, "/api/v1/tickets", "tickets", "operator", 3)
    assert [len(p) for p in pages] == [3, 3, 3, 3, 1]
    assert [i for page in pages for i in page] == [t.id for t in reversed(made)]


async def test_a_list_gives_100_by_default_and_at_most_1000(api: Api) -> None:
    for n in range(101):
        await api.window(start=NOW + timedelta(minutes=n + 1), end=NOW + timedelta(hours=2))
    status, page = await api.call("GET", "/api/v1/maintenance", "customer")
    assert (status, len(page["maintenance"]), "next" in page) == (200, 100, True)
    status, page = await api.call("GET", "/api/v1/maintenance?limit=1000", "customer")
    assert (status, len(page["maintenance"]), "next" in page) == (200, 101, False)
    assert (await api.call("GET", "/api/v1/maintenance?limit=1001", "customer"))[0] == 400


def a_page_of_1000() -> list[Any]:
    ticket = Ticket(
        "1",
        "portal",
        "acme",
        TicketState.RESOLVED,
        Classification.EMERGENCY,
        ResultKind.LOGIN_REJECTED,
        "step 2 POST https://portal.acme.example/login: " + "d" * 400,
        NOW,
        NOW,
        NOW,
        "olivia",
        NOW,
        NOW,
        "olivia",
        None,
        "r" * 2000,
    )
    window = Window(
        "1", "acme", ("portal",) * 20, MaintenanceKind.OTHER, NOW, NOW, NOW, "x", "n" * 2000
    )
    return [ticket] * 1000 + [window] * 1000


@pytest.mark.parametrize("kind", ["tickets", "windows"])
def test_a_page_of_1000_long_entries_is_encoded_in_well_under_a_tenth_of_a_second(
    kind: str,
) -> None:
    items = a_page_of_1000()
    started = time.perf_counter()
    if kind == "tickets":
        text = TicketList(tickets=[TicketBody.of(t) for t in items[:1000]], next="x").encoded()
    else:
        text = WindowList(maintenance=[WindowBody.of(w, NOW) for w in items[1000:]]).encoded()
    took = time.perf_counter() - started
    # Measured 10-15 ms for either on a laptop core; the bound leaves room for slow CI.
    assert took < 0.1, f"{took * 1000:.0f} ms for {len(text)} bytes"
    assert len(text) > 2_000_000


@pytest.mark.parametrize("after", [None, "MTc5NTY4NzIwMC4wMDAwMDB8MTI"])
def test_a_listing_encoded_entry_by_entry_is_the_json_of_its_model(after: str | None) -> None:
    items = a_page_of_1000()
    page = TicketList(tickets=[TicketBody.of(t) for t in items[:3]], next=after)
    expected = page.model_dump(mode="json", exclude={"next"} if after is None else None)
    assert json.loads(page.encoded()) == expected
    assert list(json.loads(page.encoded())) == ["tickets"] + (["next"] if after else [])


def ten_thousand_checks() -> list[CheckView]:
    at = NOW - timedelta(minutes=5)
    status = LocationStatus(state=State.UP, since=at, last_result=ResultKind.OK, last_result_at=NOW)
    return [
        CheckView(
            CheckSpec(
                id=f"check-{n}",
                customer="acme",
                name=f"Logon {n}",
                interval=timedelta(seconds=30),
                timeout=timedelta(seconds=10),
                confirm=2,
                recover=2,
                retry_interval=timedelta(seconds=5),
                steps=(),
            ),
            Verdict(State.UP, at),
            {"eu-west": status, "us-east": status},
        )
        for n in range(10_000)
    ]


async def test_listing_10000_checks_leaves_the_event_loop_free_to_probe() -> None:
    views = ten_thousand_checks()
    gaps: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0)  # a yield to the loop, not a wait: how long until back?
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticking = asyncio.create_task(ticker())
    response = await respond_listing(lambda: CheckList(checks=[CheckBody.of(v) for v in views]))
    done.set()
    await ticking
    assert response.text is not None and len(json.loads(response.text)["checks"]) == 10_000
    # Measured: ~0.3 s of work in all; the loop waits 35-90 ms at most (a collection
    # of the garbage the work leaves); on the loop itself it would wait the whole 0.3 s.
    assert max(gaps) < 0.2, f"the loop waited {max(gaps) * 1000:.0f} ms"
