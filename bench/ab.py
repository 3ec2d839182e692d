"""A/B two sitewatch trees side by side, at the same time, with the bare loop beside them.

Usage, from the project root:
    python bench/ab.py [--checks 5000] [--kind get] [--seconds 60] [--rounds 3]
                       [--profile DIR] OLD_DIR [NEW_DIR]

`run.py` measures the bare loop and sitewatch one after the other; on a shared virtual
machine the cost of a timer wake-up moves by 2-3x within minutes, so a ratio of two
runs minutes apart can move more than the change being measured. Here the two trees
(each a directory holding a `sitewatch` package, e.g. a `git worktree`) and the bare
loop probe the same farm at the same rate over the same window, pinned to the same
CPU, so whatever the machine does hits all three alike. Each round prints CPU per
probe of each (user + system, all threads, from /proc) and the ratios; then medians.
With one tree it is that tree against the bare loop, side by side (the figure
`run.py` takes one after the other); keep the sum of the CPU shares under one core.

Each sitewatch has N checks at `--interval` with its own SQLite file; nothing goes
down (no pages). The probes that started in the window are counted in each one's
database after it has stopped. `--profile DIR` samples both trees with py-spy over
the last round's window (1,000 a second, on the farm's CPU) and prints the functions
whose own time differs most between them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import hotspots
import sites
from control import HERE, FarmProcess, farm_and_webhook
from service import Policy, Service, Workspace


async def one_round(
    args: argparse.Namespace, farm: FarmProcess, url: str, number: int
) -> dict[str, float]:
    """Run both trees and the bare loop over one window; return CPU ms per probe of each."""
    with tempfile.TemporaryDirectory(prefix="sitewatch-ab-") as tmp:
        services = []
        for name, tree in _trees(args):
            root = Path(tmp) / name
            root.mkdir()
            policy = Policy(interval=args.interval)
            workspace = Workspace(
                root, args.checks, farm.ports, policy, kind=args.kind, event_loop=args.loop
            )
            workspace.write(url, 10)
            service = Service(workspace, args.cpu, tree)
            service.start()
            services.append((name, service))
        try:
            async with aiohttp.ClientSession() as session:
                for _, service in services:
                    await service.wait_ready(session)
            await asyncio.sleep(args.warmup)
            bare = asyncio.create_task(_bare(args, farm.ports))
            await asyncio.sleep(2.0)  # the bare loop's own warm-up
            before = {name: (s.snapshot(), time.time()) for name, s in services}
            samplers = _sample(args, services, last=number == args.rounds)
            await asyncio.sleep(args.seconds)
            after = {name: (s.snapshot(), time.time()) for name, s in services}
            for sampler in samplers:
                await asyncio.to_thread(sampler.wait)
            figures = {"bare": (await bare)["cpu_ms_per_logon"]}
        finally:
            for _, service in services:
                await asyncio.to_thread(service.stop)
        for name, service in services:
            start, end = before[name][0], after[name][0]
            # Counted by start time once the service has stopped (and committed all):
            # row ids read at the two snapshots would count each tree's commit lag
            # (up to a second of probes for a tree that commits once a second).
            probes = max(started_between(service.workspace.database, start.at, end.at), 1)
            figures[name] = 1000 * (end.cpu_seconds - start.cpu_seconds) / probes
            figures[f"{name}_rate"] = probes / (end.at - start.at)
    return figures


def started_between(database: Path, start: float, end: float) -> int:
    """Return how many probes in the database started between two Unix times."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        (count,) = connection.execute(
            "SELECT count(*) FROM probe_results WHERE started_at >= ? AND started_at < ?",
            (int(start * 1e6), int(end * 1e6)),
        ).fetchone()
    finally:
        connection.close()
    return int(count)


def _sample(
    args: argparse.Namespace, services: list[tuple[str, Service]], *, last: bool
) -> list[subprocess.Popen[bytes]]:
    """Start py-spy on each tree's service over the last round's window, if asked."""
    if not (args.profile and last):
        return []
    Path(args.profile).mkdir(parents=True, exist_ok=True)
    return [
        hotspots.record(
            s.pid, args.seconds, Path(args.profile) / f"{name}.txt", cpu=args.farm_cpu, rate=1000
        )
        for name, s in services
    ]


async def _bare(args: argparse.Namespace, ports: list[int]) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "baseline.py"), "--sites", str(args.checks)]
    command += ["--ports", ",".join(map(str, ports)), "--rate", f"{args.checks / args.interval}"]
    command += ["--warmup", "2", "--seconds", str(args.seconds), "--kind", args.kind]
    command += ["--loop", args.loop, "--cpu", str(args.cpu)]
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    result: dict[str, Any] = json.loads(out)
    return result


async def main(args: argparse.Namespace) -> None:
    """Run the rounds and print each, then the medians."""
    rounds: list[dict[str, float]] = []
    async with (
        aiohttp.ClientSession() as session,
        farm_and_webhook(session, args.checks, args.farm_cpu) as (farm, webhook),
    ):
        for n in range(1, args.rounds + 1):
            r = await one_round(args, farm, webhook.url, n)
            rounds.append(r)
            print(_line(f"round {n}", r), flush=True)
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    print(_line(f"median of {len(rounds)}", medians))
    key = "new" if args.new else "bare"
    ratios = [r[key] / r["old"] if key == "new" else r["old"] / r["bare"] for r in rounds]
    label = "new / old" if args.new else "sitewatch / bare"
    print(f"{label} per round: {', '.join(f'x{x:.3f}' for x in ratios)}")
    if args.profile and args.new:
        print("where the CPU went, new against old (py-spy, the last round):")
        print(
            "\n".join(
                hotspots.compare(Path(args.profile) / "old.txt", Path(args.profile) / "new.txt")
            )
        )


def _trees(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [("old", args.old), ("new", args.new)] if args.new else [("old", args.old)]


def _line(label: str, r: dict[str, float]) -> str:
    text = f"{label}: bare {r['bare']:.3f} ms"
    for name in ("old", "new"):
        if name in r:
            text += f" | {name} {r[name]:.3f} ms x{r[name] / r['bare']:.2f}"
            text += f" ({r[f'{name}_rate']:.0f}/s)"
    if "new" in r:
        text += f" | new/old x{r['new'] / r['old']:.3f}"
    return text


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="a directory holding the `sitewatch` package to compare")
    parser.add_argument("new", nargs="?", default="", help="another such directory")
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--kind", choices=sites.KINDS, default="get")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    parser.add_argument(
        "--warmup",
        type=float,
        default=None,
        help="seconds before the window (default: one interval and 5 s, so that every"
        " check's first result, which also judges its first verdict, is behind)",
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--farm-cpu", type=int, default=1)
    parser.add_argument("--profile", default="", help="py-spy each tree's last round into DIR")
    args = parser.parse_args()
    if args.warmup is None:
        args.warmup = args.interval + 5.0
    args.old = str(Path(args.old).resolve())
    args.new = str(Path(args.new).resolve()) if args.new else ""
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
