"""Shared pytest fixtures, in blocks by topic."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient, AiohttpServer

from sitewatch.demo.site import SimulatedSite
from sitewatch.storage.urls import DatabaseUrl
from tests.api_harness import Api, start_api
from tests.paging_support import Webhook

# --- Simulated customer site on loopback (used by tests/test_probe_http.py) ----------


@pytest.fixture
def simulated_site() -> SimulatedSite:
    """Return a simulated customer site, mode `up`; a test may flip its mode."""
    return SimulatedSite(user="acme-robot", password="correct h@rse&co")


@pytest.fixture
async def simulated_site_url(simulated_site: SimulatedSite, aiohttp_server: AiohttpServer) -> str:
    """Serve `simulated_site` on 127.0.0.1 and return its base URL, e.g. `http://127.0.0.1:8081`."""
    server = await aiohttp_server(simulated_site.app())
    return f"http://{server.host}:{server.port}"


# --- end of simulated customer site --------------------------------------------------


# --- The HTTP API in process (used by tests/test_api_*.py; see tests/api_harness.py) --


@pytest.fixture
async def api(tmp_path: Path, aiohttp_client: AiohttpClient) -> Api:
    """Return the whole app on a temp config and SQLite file, under a FakeClock."""
    return await start_api(tmp_path, aiohttp_client)


# --- end of the HTTP API -------------------------------------------------------------


# --- A paging webhook: real Apprise delivers pages to it ---------------------------


@pytest.fixture
async def webhook(aiohttp_server: AiohttpServer) -> Webhook:
    """Serve a recording webhook on 127.0.0.1 (`json://127.0.0.1:PORT/...` reaches it)."""
    hook = Webhook()
    server = await aiohttp_server(hook.app())
    assert server.port is not None
    hook.port = server.port
    return hook


# --- PostgreSQL (tests/pg_fixtures.py: a server, a fresh database per test) ----------

from tests.pg_fixtures import (  # noqa: E402
    pg_admin_url,  # noqa: F401
    pg_databases,  # noqa: F401
    pg_session_database,  # noqa: F401
    pg_url,  # noqa: F401
    postgres_store,  # noqa: F401
    throwaway_pg,  # noqa: F401
)

# --- end of PostgreSQL -----------------------------------------------------------------


# --- Both backends, for the service-level tests that matter ------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest) -> str:
    """Return a `database:` URL of each backend in turn (a fresh database each)."""
    if request.param == "sqlite":
        return "sqlite:///sitewatch.db"
    url: DatabaseUrl = request.getfixturevalue("pg_url")
    return url.url
