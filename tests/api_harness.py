"""The service's HTTP API in process: `build_app` on a written config and a real SQLite
file, time held still by a FakeClock, called through aiohttp's test client.

The scheduler and housekeeping sleep on the FakeClock, so nothing probes unless a
test advances it; tickets are made by committing outage transitions to the real
store, as the monitor would.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from sitewatch.api.common import SERVICE
from sitewatch.app import build_app
from sitewatch.clock import FakeClock
from sitewatch.config.loader import Settings, load_settings
from sitewatch.model import (
    Classification,
    MaintenanceKind,
    Outage,
    ResultKind,
    State,
    Ticket,
    Transition,
    TransitionKind,
    Verdict,
    Window,
    WindowChange,
)
from tests.harness import (
    CUSTOMER_TOKEN,
    ENV,
    GLOBEX_TOKEN,
    OPERATOR_TOKEN,
    ServiceConfig,
    logon_check,
)

TOKENS = {
    "nobody": None,
    "unknown": "not-a-token-anyone-has",
    "customer": CUSTOMER_TOKEN,
    "other customer": GLOBEX_TOKEN,
    "operator": OPERATOR_TOKEN,
}
"""The callers of the auth matrix: acme is "the customer", globex "the other"."""

RECURRING = textwrap.dedent("""\
    recurring_maintenance:
      - customer: acme
        checks: [portal]
        kind: os-upgrade
        every: sunday
        at: "02:00"
        duration: 2h
        timezone: Europe/Berlin
        note: weekly patching
    """)


def write_settings(
    directory: Path, *, extra: str = "", site: str = "http://127.0.0.1:9"
) -> Settings:
    """Write a config with acme (checks portal, shop) and globex (webmail); load it.

    Every check logs on to `site` (by default a closed port: every probe fails).
    """
    config = ServiceConfig(
        directory,
        checks={
            "portal": logon_check("portal", site),
            "shop": logon_check("shop", site),
            "webmail": logon_check("webmail", site, customer="globex"),
        },
        extra=extra,
    )
    return load_settings(config.write(), ENV)


@dataclass
class Api:
    """A running app, its clock and a client that calls it as one of `TOKENS`."""

    client: TestClient[web.Request, web.Application]
    clock: FakeClock

    @property
    def app(self) -> web.Application:
        """The application under test (its service is live)."""
        return self.client.server.app  # type: ignore[no-any-return]

    async def call(
        self, method: str, path: str, who: str = "operator", **kw: Any
    ) -> tuple[int, Any]:
        """Call a route as `who`; return the status and the body (JSON, text, or None)."""
        token = TOKENS[who]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        headers |= kw.pop("headers", {})
        async with self.client.request(method, path, headers=headers, **kw) as response:
            raw = await response.read()
            if not raw:
                return response.status, None
            if response.content_type != "application/json":
                return response.status, raw.decode()
            return response.status, await response.json()

    async def window(self, **fields: Any) -> Window:
        """Store a window directly (any times, even past ones) and put it in the book."""
        now = self.clock.now()
        values: dict[str, Any] = {
            "id": "",
            "customer": "acme",
            "checks": (),
            "kind": "other",
            "start": now + timedelta(hours=1),
            "end": now + timedelta(hours=2),
            "declared_at": now,
            "declared_by": "customer:acme",
        }
        values |= fields
        values["kind"] = MaintenanceKind(values["kind"])
        window = Window(**values)
        declared = WindowChange("", window.declared_at, window.declared_by, "declared")
        async with self.app[SERVICE].store.transaction() as tx:
            return await tx.windows.add(window, declared)

    async def ticket(
        self, check: str = "portal", customer: str = "acme", *, onset_ago: float = 30
    ) -> Ticket:
        """Open an emergency ticket the way the monitor does: commit a STARTED transition."""
        onset = self.clock.now() - timedelta(seconds=onset_ago)
        outage = Outage(onset, ResultKind.CONNECT, Classification.EMERGENCY, "refused")
        started = Transition(TransitionKind.STARTED, self.clock.now(), outage, "2 failures")
        service = self.app[SERVICE]
        spec = service.settings.check(check)
        assert spec is not None and spec.customer == customer
        async with service.store.transaction() as tx:
            recorded = await service.recorder.record(tx, spec, started, self.clock.now())
            await tx.checks.save_verdicts({check: Verdict(State.DOWN, onset, outage)})
        assert recorded.ticket is not None
        return recorded.ticket


async def start_api(
    directory: Path,
    aiohttp_client: AiohttpClient,
    *,
    extra: str = "",
    clock: FakeClock | None = None,
    site: str = "http://127.0.0.1:9",
) -> Api:
    """Start the whole app on a config written to `directory`, under a FakeClock."""
    clock = clock or FakeClock()
    settings = write_settings(directory, extra=extra, site=site)
    return Api(await aiohttp_client(build_app(settings, clock=clock)), clock)
