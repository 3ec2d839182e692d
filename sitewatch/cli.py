"""argv -> commands; the only place that chooses exit codes."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import aiohttp
from aiohttp import web

from sitewatch import __version__
from sitewatch.clock import SystemClock
from sitewatch.config.loader import ConfigError, Settings, default_config_path, load_settings
from sitewatch.eventloop import EventLoopError, new_event_loop
from sitewatch.model import ID_PATTERN, CheckSpec, ProbeResult
from sitewatch.model.durations import format_duration

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sitewatch command line and return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_INVALID
    command = {"run": _run, "check": _check, "probe": _probe, "demo": _demo, "stats": _stats}[
        args.command
    ]
    return command(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sitewatch", description="Emergency site-down monitoring and paging."
    )
    parser.add_argument("--version", action="version", version=f"sitewatch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    config_help = "service configuration (default: $SITEWATCH_CONFIG, else config/sitewatch.yaml)"

    run = commands.add_parser("run", help="run the service until SIGTERM or SIGINT")
    check = commands.add_parser("check", help="validate the config and every check file")
    probe = commands.add_parser("probe", help="run one check once and print each step")
    probe.add_argument("check_id", metavar="CHECK_ID")
    stats = commands.add_parser("stats", help="print outage statistics from the database")
    stats.add_argument("--since", default="30d", help="a time (ISO 8601) or a duration ago")
    stats.add_argument("--until", default="now", help="a time (ISO 8601), a duration ago, now")
    for sub in (run, check, probe, stats):
        sub.add_argument("-c", "--config", type=Path, help=config_help)
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING"])
    run.add_argument(
        "--location",
        help="this instance's location (default: $SITEWATCH_LOCATION, else cluster.location)",
    )
    run.add_argument("--instance", help="this instance's name (default: HOSTNAME-PID)")
    commands.add_parser("demo", help="a guided demo on a simulated customer site")
    return parser


class _ReadNames(Mapping[str, str]):
    """The environment as the config loader sees it, remembering the names it read."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        value = self._environ[name]
        self.read.add(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


def _load(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> Settings | None:
    path = args.config or default_config_path(os.environ)
    try:
        return load_settings(path, environ)
    except ConfigError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem(s) found; nothing was started.", file=sys.stderr)
        return None


def _check(args: argparse.Namespace) -> int:
    settings = _load(args)
    if settings is None:
        return EXIT_INVALID
    print(f"{settings.source}: valid")
    print(f"  listen      {settings.listen_host}:{settings.listen_port}")
    print(f"  database    {settings.database.redacted}")
    print(f"  customers   {', '.join(c.id for c in settings.customers) or '-'}")
    print(f"  operators   {', '.join(o.id for o in settings.operators) or '-'}")
    print(f"  schedules   {', '.join(s.id for s in settings.schedules) or '-'}")
    print(f"  escalation  {len(settings.escalation.levels)} level(s)")
    print(f"  checks      {len(settings.checks)} in {settings.checks_dir}")
    for spec in settings.checks:
        print(
            f"    {spec.id:<24} {spec.customer:<12} every {format_duration(spec.interval)},"
            f" {len(spec.steps)} step(s)"
        )
    return EXIT_OK


def _probe(args: argparse.Namespace) -> int:
    settings = _load(args)
    if settings is None:
        return EXIT_INVALID
    spec = next((c for c in settings.checks if c.id == args.check_id), None)
    if spec is None:
        known = ", ".join(c.id for c in settings.checks) or "none"
        print(f"unknown check {args.check_id!r}; configured checks: {known}", file=sys.stderr)
        return EXIT_INVALID
    # A site's text is escaped by the probe; this keeps a terminal that cannot show
    # some character (a latin-1 locale, say) from ending in a traceback all the same.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        result = asyncio.run(_probe_once(spec, own=(settings.listen_host, settings.listen_port)))
    except Exception as error:  # the probe returns failures as results: this is a bug
        print(f"sitewatch probe: internal error (a bug): {type(error).__name__}", file=sys.stderr)
        return EXIT_FAILED
    print(render_result(result))
    return EXIT_OK if result.ok else EXIT_FAILED


async def _probe_once(spec: CheckSpec, own: tuple[str, int]) -> ProbeResult:
    from sitewatch.probing.http import HttpLogonProbe

    async with aiohttp.TCPConnector() as connector:
        # As in the service: a redirect never leads the probe to sitewatch itself.
        return await HttpLogonProbe(connector, SystemClock(), forbidden=[own]).run(spec)


def render_result(result: ProbeResult) -> str:
    """Render a probe result step by step for a terminal."""
    lines = []
    for step in result.steps:
        status = str(step.status) if step.status is not None else "---"
        mark = "ok  " if step.ok else "FAIL"
        ms = step.elapsed.total_seconds() * 1000
        line = (
            f"  {mark} step {step.index} {step.method.value:<4} {step.url}  {status}  {ms:.0f} ms"
        )
        lines.append(line + (f"\n         {step.detail}" if step.detail else ""))
    total = result.duration.total_seconds() * 1000
    verdict = "ok" if result.ok else f"FAILED: {result.kind.value}"
    lines.append(f"{result.check_id}: {verdict} in {total:.0f} ms")
    if not result.ok and result.detail:
        lines.append(f"  {result.detail}")
    return "\n".join(lines)


def _run(args: argparse.Namespace) -> int:
    started = SystemClock().monotonic()  # before the config loads: seconds at 20,000 checks
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    environ = _ReadNames(os.environ)
    settings = _load(args, environ)
    if settings is None:
        return EXIT_INVALID
    from sitewatch.app import FATAL, build_app, stop_process
    from sitewatch.model import Identity
    from sitewatch.storage.sqlite import InstanceLockedError

    location = args.location or os.environ.get("SITEWATCH_LOCATION") or settings.cluster.location
    if not ID_PATTERN.match(location):
        print(f"location {location!r}: use lower-case letters, digits and dashes", file=sys.stderr)
        return EXIT_INVALID
    identity = Identity.default(location)
    if args.instance:
        identity = Identity(args.instance, location)
    try:
        loop, loop_name = new_event_loop(os.environ)
    except EventLoopError as refused:
        print(f"sitewatch run: {refused}", file=sys.stderr)
        return EXIT_INVALID
    log = logging.getLogger("sitewatch")
    log.info(
        "sitewatch %s: %d checks, listening on http://%s:%d, event loop %s",
        __version__,
        len(settings.checks),
        settings.listen_host,
        settings.listen_port,
        loop_name,
    )
    _forget(environ.read)
    app = build_app(settings, identity=identity, on_fatal=stop_process, started=started)
    try:
        # run_app handles SIGINT and SIGTERM: it stops accepting, runs cleanup, returns.
        web.run_app(
            app,
            loop=loop,
            host=settings.listen_host,
            port=settings.listen_port,
            print=None,
            access_log=None,
        )
    except InstanceLockedError as refused:
        print(f"sitewatch run: {refused}", file=sys.stderr)
        return EXIT_INVALID
    given_up: list[str] = app[FATAL]
    if given_up:
        log.critical("sitewatch stopped: loop(s) %s kept crashing", ", ".join(given_up))
        return EXIT_FAILED
    log.info("sitewatch stopped cleanly")
    return EXIT_OK


def _forget(names: set[str]) -> None:
    """Take the variables the config's `${NAME}`s read out of the environment.

    Their values live on in the loaded settings. Out of the environment they reach no
    child process, and they cost nothing where a library scans the environment: the
    HTTP client under Apprise reads every variable (looking for proxy settings) on
    every page it sends, 45 ms of CPU per page with one password variable for each of
    10,000 checks (bench/README.md).
    """
    for name in names:
        os.environ.pop(name, None)


def _demo(args: argparse.Namespace) -> int:
    from sitewatch.demo.tour import run_demo

    return asyncio.run(run_demo())


def _stats(args: argparse.Namespace) -> int:
    from sitewatch.stats.reader import read_database
    from sitewatch.stats.report import as_json, parse_bound, period_between, render_table

    settings = _load(args)
    if settings is None:
        return EXIT_INVALID
    clock = SystemClock()
    try:
        now = clock.now()
        since, until = parse_bound(args.since, now), parse_bound(args.until, now)
        period = period_between(since, until, now)
    except ValueError as problem:
        print(f"sitewatch stats: {problem}", file=sys.stderr)
        return EXIT_INVALID
    path = settings.database.path
    if path is not None and not path.exists():
        print(f"no database at {path}: has sitewatch run with it?", file=sys.stderr)
        return EXIT_INVALID
    stats = asyncio.run(read_database(settings, period, clock, retention=settings.result_retention))
    print(render_table(as_json(stats)))
    return EXIT_OK
