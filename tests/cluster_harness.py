"""Several real `sitewatch run` processes on one PostgreSQL database, and what they talk to.

One machine plays several locations: each instance binds its probes to a loopback
address of its own (`probe.source_address`: 127.0.0.1, .2, .3), and the test site
refuses the addresses of the locations a test cuts off, as a firewall would (the
connection is closed before any answer: a `connect` failure). The pager is a
webhook that records every page. Each instance names its database connections
after itself (`application_name`), so a trigger can tell which instance wrote what.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from aiohttp import web
from aiohttp.test_utils import unused_port

from tests.harness import OPERATOR_TOKEN, Service, ServiceConfig, until

LEASE = 2.0
"""Seconds of the test clusters' lease: failover figures scale with it."""
ADDRESSES = {"east": "127.0.0.1", "west": "127.0.0.2", "north": "127.0.0.3"}
"""The loopback address each test location probes from."""


@dataclass(frozen=True, slots=True)
class Hit:
    """One request the site answered (or refused): which check, from where, when."""

    check: str
    source: str
    at: float
    """`time.monotonic()` of the test process."""


class _Served:
    """A small aiohttp server on 127.0.0.1 and a port of its own, started and stopped."""

    def __init__(self) -> None:
        self.port = unused_port()
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        """Add the server's routes."""
        raise NotImplementedError

    async def start(self) -> None:
        """Serve on 127.0.0.1 until `stop`."""
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()


class Site(_Served):
    """A customer site with one page per check: up, down (503), or cut off per source."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()
        self.refused: set[str] = set()
        """Source addresses whose connections are closed unanswered."""
        self.hits: list[Hit] = []

    @property
    def url(self) -> str:
        """The base URL the checks probe."""
        return f"http://127.0.0.1:{self.port}"

    def routes(self, app: web.Application) -> None:
        """One page per check."""
        app.router.add_get("/c/{check}", self._page)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        check, source = request.match_info["check"], request.remote or "?"
        self.hits.append(Hit(check, source, time.monotonic()))
        if source in self.refused:
            # As a firewall: no answer at all (kept-alive connections are cut too).
            assert request.transport is not None
            request.transport.close()
            raise web.HTTPServiceUnavailable  # never reaches the prober: the line is cut
        if check in self.down:
            return web.Response(status=503, text="down for everyone")
        return web.Response(text="Welcome")

    def probed_after(self, check: str, moment: float, source: str | None = None) -> float | None:
        """Return when the check was first probed after `moment` (from `source`), if it was."""
        for hit in self.hits:
            if hit.check == check and hit.at > moment and source in (None, hit.source):
                return hit.at
        return None


@dataclass(frozen=True, slots=True)
class Page:
    """One page as the webhook received it."""

    at: float
    title: str
    body: str

    @property
    def ticket(self) -> str | None:
        """Return the ticket id the page names, if any."""
        found = re.search(r"[Tt]icket:? #?(\S+)", self.body)
        return found.group(1).rstrip(".,") if found else None


class Pager(_Served):
    """A webhook (`json://`) that records every page it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: list[Page] = []

    @property
    def notify(self) -> str:
        """The Apprise URL that pages this webhook."""
        return f"json://127.0.0.1:{self.port}/pages"

    def routes(self, app: web.Application) -> None:
        """Apprise posts each page here."""
        app.router.add_post("/pages", self._take)

    async def _take(self, request: web.Request) -> web.Response:
        payload = json.loads(await request.read())
        self.pages.append(Page(time.monotonic(), payload["title"], payload["message"]))
        return web.Response(text="ok")

    def titled(self, prefix: str) -> list[Page]:
        """Return the pages whose title starts with `prefix`."""
        return [page for page in self.pages if page.title.startswith(prefix)]


def check_yaml(check_id: str, site: Site, interval: str = "500ms") -> str:
    """Return a one-step check of the site's page for `check_id`."""
    return textwrap.dedent(f"""\
        id: {check_id}
        customer: acme
        name: Page {check_id}
        interval: {interval}
        steps:
          - get: "{site.url}/c/{check_id}"
            expect: {{status: 200, body_contains: "Welcome"}}
        """)


class Node(Service):
    """One `sitewatch run` of a cluster: its own config, name, location and address."""

    def __init__(self, config: ServiceConfig, name: str, location: str) -> None:
        super().__init__(config)
        self.name = name
        self.location = location

    def spawn(self) -> None:
        """Start `sitewatch run --instance NAME --location LOCATION`."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "sitewatch",
                    "run",
                    "-c",
                    str(self.config.path),
                    "--instance",
                    self.name,
                    "--location",
                    self.location,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env,
            )

    @property
    def pid(self) -> int:
        """The process id."""
        assert self.process is not None
        return self.process.pid

    def signal(self, sig: signal.Signals) -> None:
        """Send a signal without waiting."""
        assert self.process is not None
        self.process.send_signal(sig)

    def kill(self) -> None:
        """Kill -9 and reap."""
        self.stop(signal.SIGKILL)

    async def cluster(self) -> dict[str, Any]:
        """Return `GET /api/v1/cluster`."""
        status, body = await self.api("GET", "/api/v1/cluster", OPERATOR_TOKEN)
        assert status == 200, body
        answer: dict[str, Any] = body
        return answer


@dataclass
class Cluster:
    """Instances sharing one database, a site, a pager; started and stopped together."""

    root: Path
    database: str
    site: Site
    pager: Pager
    checks: list[str]
    extra: str = ""
    interval: str = "500ms"
    nodes: dict[str, Node] = field(default_factory=dict)

    def node(self, name: str, location: str = "east", **more: str) -> Node:
        """Write the config of one more instance (not started)."""
        directory = self.root / name
        config = ServiceConfig(
            directory,
            checks={check: check_yaml(check, self.site, self.interval) for check in self.checks},
            notify=self.pager.notify,
        )
        config.write()
        text = config.path.read_text().replace(
            'database: "sqlite:///sitewatch.db"',
            f'database: "{self.database}?application_name={name}"',
        )
        text += textwrap.dedent(f"""\
            cluster: {{location: {location}, lease: {LEASE}s}}
            probe: {{source_address: "{ADDRESSES[location]}"}}
            """)
        config.path.write_text(text + self.extra + "".join(f"{k}: {v}\n" for k, v in more.items()))
        node = self.nodes[name] = Node(config, name, location)
        return node

    async def start(self, *nodes: Node) -> None:
        """Start these instances at once and wait until each answers /healthz."""
        await asyncio.gather(*(node.start() for node in nodes))

    def stop(self) -> None:
        """Stop every instance still running (SIGCONT first, in case one is paused)."""
        for node in self.nodes.values():
            if node.process is not None and node.process.poll() is None:
                node.signal(signal.SIGCONT)
                node.stop(signal.SIGKILL)

    def logs(self) -> str:
        """Return every instance's log, one after another (for failure messages)."""
        return "\n".join(f"===== {n}\n{node.log()[-6000:]}" for n, node in self.nodes.items())

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        """Run SQL on the cluster's database; return the rows of its last statement."""
        with psycopg.connect(self.database, autocommit=True) as conn:
            cursor = conn.execute(sql, params or None)  # type: ignore[arg-type]
            return cursor.fetchall() if cursor.description else []

    def lease(self) -> tuple[str, int, bool] | None:
        """Return the lease's holder, epoch and whether it is live (database time)."""
        rows = self.query("SELECT instance, epoch, until > clock_timestamp() FROM leader_lease")
        return rows[0] if rows else None

    async def leader(self, within: float = 20, other_than: str | None = None) -> tuple[str, int]:
        """Wait for a live lease (held by another than `other_than`); return holder, epoch."""

        async def held() -> tuple[str, int] | None:
            lease = await asyncio.to_thread(self.lease)
            if lease is None or not lease[2] or lease[0] == other_than:
                return None
            return lease[0], lease[1]

        return await until("a leader", held, within=within)


@asynccontextmanager
async def cluster_of(
    root: Path, database: str, checks: Iterable[str], extra: str = "", interval: str = "500ms"
) -> AsyncIterator[Cluster]:
    """Run a site and a pager for a cluster; stop every instance at the end."""
    site, pager = Site(), Pager()
    await site.start()
    await pager.start()
    cluster = Cluster(root, database, site, pager, list(checks), extra, interval)
    try:
        yield cluster
    except BaseException:
        print(cluster.logs())
        raise
    finally:
        cluster.stop()
        await pager.stop()
        await site.stop()
