"""Benchmark sitewatch: how many logon checks one core holds, and how fast an outage is seen.

One command, from the project root (sitewatch installed in the virtualenv):
    python bench/run.py [--sizes 1000,5000,10000,20000] [--repeats 2] [--seconds 30]

For each size N and each repeat it runs, side by side on the same CPU:
1. bench/baseline.py, a bare aiohttp loop doing N/interval three-step logons a second
   (or single GETs, `--kind get`), for 10 s before sitewatch and 10 s after it;
2. the real `sitewatch run` with N generated checks at `--interval` (30 s), its SQLite
   database and an operator paged at a local webhook, while a few sites are taken
   down to time detection.
Both probe the same farm (bench/farm.py), a separate process pinned to the other CPU.
It prints each run as it ends, then medians per size, the targets of issue 6 and,
with --profile, a py-spy profile of sitewatch at one size. It asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import detection
import figures
import hotspots
import pgbench
import report
import sites
from control import HERE, FarmProcess, Webhook
from service import Policy, Service, Workspace


def machine() -> dict[str, str]:
    """Describe the machine the figures come from."""
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


class Bench:
    """The farm, the webhook and the options every run shares."""

    def __init__(self, args: argparse.Namespace, session: aiohttp.ClientSession) -> None:
        self.args = args
        self.session = session
        self.farm = FarmProcess(session)
        self.webhook = Webhook()
        self.policy = Policy(interval=args.interval)
        self.rng = random.Random(args.seed)

    async def baseline(self, checks: int) -> dict[str, Any]:
        """Run bench/baseline.py at the size's logon rate on sitewatch's CPU."""
        rate = checks / self.args.interval
        command = [sys.executable, str(HERE / "baseline.py"), "--sites", str(checks)]
        command += ["--ports", ",".join(map(str, self.farm.ports)), "--rate", f"{rate:.3f}"]
        command += ["--warmup", "2", "--seconds", str(self.args.baseline_seconds)]
        command += ["--kind", self.args.kind, "--loop", self.args.loop]
        if self.args.cpu is not None:
            command += ["--cpu", str(self.args.cpu)]
        farm0 = await self.farm.stats()
        process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
        out, _ = await process.communicate()
        farm1 = await self.farm.stats()
        if process.returncode != 0:
            raise RuntimeError(f"baseline failed with exit code {process.returncode}")
        result: dict[str, Any] = json.loads(out)
        result["farm_cpu_share"] = _farm_share(farm0, farm1)
        return result

    async def sitewatch(self, checks: int, profile: Path | None = None) -> dict[str, Any]:
        """Run the real service with `checks` checks; measure it from the outside."""
        with (
            tempfile.TemporaryDirectory(prefix="sitewatch-bench-") as tmp,
            pgbench.fresh_database(self.args.database) as database,
        ):
            args = self.args
            workspace = Workspace(
                Path(tmp), checks, self.farm.ports, self.policy, database, args.kind, args.loop
            )
            workspace.write(self.webhook.url, self.args.checks_per_customer)
            await self.farm.up()
            await self.farm.reset()
            service = Service(workspace, self.args.cpu, self.args.pythonpath)
            spawned = time.time()
            service.start()
            try:
                return await self._observe(service, checks, spawned, profile)
            finally:
                await asyncio.to_thread(service.stop)

    async def _observe(
        self, service: Service, checks: int, spawned: float, profile: Path | None
    ) -> dict[str, Any]:
        args = self.args
        ready = await service.wait_ready(self.session)
        finder = asyncio.create_task(self._detect(service, checks, ready))
        scraper = asyncio.create_task(self._scrape_every(service, args.scrape_every))
        await _sleep_until(ready + args.warmup)
        start, farm0 = service.snapshot(), await self.farm.stats()
        spy = None
        if profile is not None:
            spy = hotspots.record(service.pid, args.seconds, profile, args.farm_cpu)
        await _sleep_until(start.at + args.seconds)
        end, farm1 = service.snapshot(), await self.farm.stats()
        samples = await finder
        scraper.cancel()
        if spy is not None:
            await asyncio.to_thread(spy.wait)
        peak_probing = service.peak_rss()
        scrape_started, cpu0 = time.time(), service.snapshot().cpu_seconds
        text = await service.metrics(self.session)
        scrape_seconds, cpu1 = time.time() - scrape_started, service.snapshot().cpu_seconds
        results = figures.counter_by_label(text, "sitewatch_probe_results_total", "result")
        lags = figures.histogram(text, "sitewatch_scheduler_lag_seconds")
        probes = sum(results.values())
        logons = farm1["forms"] - farm0["forms"]
        window = end.at - start.at
        return {
            "checks": checks,
            "rate_target": checks / args.interval,
            "load_seconds": ready - spawned,
            "logons_per_s": probes / (scrape_started - ready),
            "window_logons_per_s": logons / window,
            "ok_share": results.get("ok", 0.0) / probes if probes else 0.0,
            "results": results,
            "cpu_ms_per_logon": 1000 * (end.cpu_seconds - start.cpu_seconds) / max(logons, 1),
            "cpu_share": (end.cpu_seconds - start.cpu_seconds) / window,
            "server_cpu_share": (end.server_cpu_seconds - start.server_cpu_seconds) / window,
            "database": "postgresql" if args.database else "sqlite",
            "kind": args.kind,
            "loop": args.loop,
            "peak_rss_mib": peak_probing / 2**20,
            "peak_rss_scrape_mib": service.peak_rss() / 2**20,
            "fds": end.fds,
            "lag_p50": figures.quantile(lags, 0.50),
            "lag_p99": figures.quantile(lags, 0.99),
            "lag_max_bound": figures.highest_bucket(lags),
            "lag_last_bound": max((b for b, _ in lags if b != float("inf")), default=0.0),
            "db_bytes_per_day": (end.db_bytes - start.db_bytes) / window * 86400,
            "bytes_per_result": (end.db_bytes - start.db_bytes)
            / max(end.results - start.results, 1),
            "scrape_seconds": scrape_seconds,
            "scrape_cpu_seconds": cpu1 - cpu0,
            "scrape_mib": len(text) / 2**20,
            "farm_cpu_share": _farm_share(farm0, farm1),
            "detection": [asdict(sample) for sample in samples],
        }

    async def _detect(self, service: Service, checks: int, ready: float) -> list[detection.Sample]:
        await _sleep_until(ready + self.args.down_after)
        return await detection.measure(
            farm=self.farm,
            service=service,
            webhook=self.webhook,
            session=self.session,
            checks=checks,
            count=self.args.down,
            policy=self.policy,
            rng=self.rng,
        )

    async def _scrape_every(self, service: Service, seconds: float) -> None:
        """Scrape /metrics like Prometheus would, when asked to (0: never)."""
        if seconds <= 0:
            return
        while True:
            await asyncio.sleep(seconds)
            await service.metrics(self.session)


def _mean_baseline(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Average the bare loop's figures measured before and after a sitewatch run."""
    mean = dict(before)
    for key, value in before.items():
        if isinstance(value, int | float) and isinstance(after.get(key), int | float):
            mean[key] = (value + after[key]) / 2
    mean["cpu_ms_per_logon_each"] = [before["cpu_ms_per_logon"], after["cpu_ms_per_logon"]]
    return mean


def _farm_share(before: dict[str, Any], after: dict[str, Any]) -> float:
    cpu = float(after["cpu_seconds"]) - float(before["cpu_seconds"])
    return cpu / (float(after["time"]) - float(before["time"]))


async def _sleep_until(moment: float) -> None:
    await asyncio.sleep(max(0.0, moment - time.time()))


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Run every size and repeat; return every run's figures and the profile's lines."""
    runs: list[dict[str, Any]] = []
    profile_lines: list[str] = []
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        b = Bench(args, session)
        await b.webhook.start()
        await b.farm.start(max([*args.sizes, args.profile]), args.ports, args.farm_cpu)
        try:
            for repeat in range(1, args.repeats + 1):
                for checks in args.sizes:
                    # The bare loop before and after sitewatch, averaged: the machine's
                    # speed drifts within minutes, and one side alone would catch it.
                    before = await b.baseline(checks)
                    run = await b.sitewatch(checks)
                    after = await b.baseline(checks)
                    run["repeat"], run["baseline"] = repeat, _mean_baseline(before, after)
                    runs.append(run)
                    print(report.run_line(run), flush=True)
            if args.profile:
                profile_lines = await _profile(b, args)
        finally:
            await b.farm.stop()
            await b.webhook.stop()
    return {"runs": runs, "profile": profile_lines}


async def _profile(b: Bench, args: argparse.Namespace) -> list[str]:
    if not hotspots.available():
        return ["  py-spy is not installed: pip install py-spy (it is in the `test` extra)"]
    path = Path(args.profile_out or tempfile.mkstemp(prefix="sitewatch-profile-")[1])
    run = await b.sitewatch(args.profile, profile=path)
    lines = [f"  profile of {args.profile:,} checks over {args.seconds:.0f} s, saved as {path}"]
    lines.append("  " + report.run_line(run))
    return lines + hotspots.summarize(path)


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line; the defaults finish in about 10 minutes on 2 cores."""
    two = (os.cpu_count() or 1) >= 2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--kind", choices=sites.KINDS, default="logon", help="logon checks, or single GETs")
    add(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the event loop of sitewatch and of the bare loop (uvloop: the `fast` extra)",
    )
    add("--sizes", type=_sizes, default=[1000, 5000, 10000, 20000], help="numbers of checks")
    add("--interval", type=float, default=30.0, help="check interval in seconds")
    add("--repeats", type=int, default=2, help="runs per size; figures are medians")
    add("--warmup", type=float, default=8.0, help="seconds before the window opens")
    add("--seconds", type=float, default=30.0, help="the measured window of each run")
    add("--baseline-seconds", type=float, default=10.0)
    add("--down", type=int, default=10, help="sites taken down per run (detection)")
    add("--down-after", type=float, default=2.0, help="seconds after start-up to take them down")
    add("--checks-per-customer", type=int, default=10)
    add("--ports", type=int, default=64, help="farm listening ports")
    add("--scrape-every", type=float, default=0.0, help="scrape /metrics like Prometheus")
    add("--profile", type=int, default=0, metavar="N", help="also profile a run of N checks")
    add("--profile-out", default="", help="where to keep the profile (collapsed stacks)")
    add("--json", default="", help="also write every figure to this file")
    add("--cpu", type=int, default=0 if two else None, help="CPU for sitewatch and baseline")
    add("--farm-cpu", type=int, default=1 if two else None, help="CPU for the farm")
    add("--seed", type=int, default=6)
    add("--pythonpath", default="", help="put this first on sitewatch's path (A/B a patch)")
    add(
        "--database",
        default="",
        metavar="URL",
        help="a PostgreSQL server (postgresql://postgres@127.0.0.1:5432/postgres): each run"
        " gets a fresh database there instead of a SQLite file",
    )
    return parser.parse_args(argv)


def main() -> None:
    """Run the benchmark and print the figures."""
    args = parse_args()
    if args.farm_cpu is not None and hasattr(os, "sched_setaffinity"):
        # This process only orchestrates: keep it off sitewatch's CPU.
        os.sched_setaffinity(0, {args.farm_cpu})
    about = machine()
    print(report.header(about, args), flush=True)
    outcome = asyncio.run(bench(args))
    print("\n".join(report.summary(outcome["runs"], args)))
    if outcome["profile"]:
        print("\nProfile of sitewatch (py-spy):")
        print("\n".join(outcome["profile"]))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": about, **outcome}, indent=1))


if __name__ == "__main__":
    main()
