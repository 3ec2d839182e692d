"""Measure what recording one probe result costs, in process: the monitor alone.

Usage, from the project root (sitewatch installed, or PYTHONPATH=.):
    python bench/results_cost.py [--checks 10000] [--rounds 6] [--batch 333]
                                 [--failing 0.0] [--database URL] [--profile FILE]

No probing, no network: the service is opened as `sitewatch run` opens it (its
config, store, monitor, recorder, fault judge, board, metrics), then every check is
handed one ready-made result per round, and the monitor commits the queue every
`--batch` results, as its writer does every second (333 results is a second of
10,000 checks at a 30 s interval; figures before 2026-12-04 took 83, a quarter
second, the writer's linger then). The first round (every check's first status and
verdict) is left out of the figures. What is printed, per result:

* `loop`: CPU of the event-loop thread (`on_result`, the batch's decisions, the
  board, metrics; the thread that probes in production);
* `worker`: the rest of the process's CPU: the SQLite worker thread's statements and
  commits (PostgreSQL's work is in its server, not counted here);
* medians over the rounds, and each round.

`--failing F` makes a share F of the checks fail in every round (confirmed outages,
tickets, pages: the costly path). `--profile FILE` writes a cProfile of the loop
thread over the measured rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from service import Policy, Workspace

from sitewatch.clock import SystemClock
from sitewatch.config.loader import load_settings
from sitewatch.model import Identity, ProbeResult, ResultKind
from sitewatch.service import open_service
from sitewatch.stats.metrics import Metrics


class SetClock(SystemClock):
    """The system clock, but for a wall time the benchmark sets (results' own times)."""

    def __init__(self) -> None:
        self.wall = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        """Return the wall time last set."""
        return self.wall

    def set(self, wall: datetime) -> None:
        """Set the wall time."""
        self.wall = wall


async def measure(args: argparse.Namespace, root: Path) -> list[tuple[float, float]]:
    """Return (loop µs, worker µs) per result for each measured round."""
    workspace = Workspace(
        root, args.checks, [9], Policy(interval=args.interval), database_url=args.database
    )
    workspace.write("json://127.0.0.1:9/bench", sites_per_customer=10)
    settings = load_settings(workspace.config, workspace.environment())
    clock = SetClock()
    service = await open_service(
        settings, clock=clock, metrics=Metrics(), identity=Identity("bench-1", "default")
    )
    monitor = service.monitor
    await monitor.start()
    specs = settings.checks
    failing = int(len(specs) * args.failing)
    step = args.interval / len(specs)
    profile = cProfile.Profile() if args.profile else None
    figures = []
    try:
        for round_number in range(args.rounds + 1):
            measured = round_number > 0
            if measured and profile is not None:
                profile.enable()
            loop_before, all_before = time.thread_time(), time.process_time()
            start = clock.now()
            for index, spec in enumerate(specs):
                kind = ResultKind.HTTP_STATUS if index < failing else ResultKind.OK
                detail = "step 1: 503" if kind is not ResultKind.OK else ""
                at = start + timedelta(seconds=index * step)
                result = ProbeResult(spec.id, at, timedelta(milliseconds=3), kind, detail)
                await monitor.on_result(spec, result)
                if monitor.queued >= args.batch:
                    # The clock moves a batch at a time: FakeClock.advance lets every
                    # task run, which would cost more than what is measured.
                    clock.set(at)
                    await monitor.flush()
            clock.set(start + timedelta(seconds=args.interval))
            await monitor.flush()
            loop = time.thread_time() - loop_before
            total = time.process_time() - all_before
            if measured and profile is not None:
                profile.disable()
            if measured:
                per = 1e6 / len(specs)
                figures.append((loop * per, (total - loop) * per))
    finally:
        await service.close()
    if profile is not None:
        profile.dump_stats(args.profile)
    return figures


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch", type=int, default=333)
    parser.add_argument("--failing", type=float, default=0.0)
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--profile", default="", help="write a cProfile of the loop thread")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sitewatch-results-") as directory:
        figures = asyncio.run(measure(args, Path(directory)))
    loops, workers = [f[0] for f in figures], [f[1] for f in figures]
    print(
        f"{args.checks:,} checks, batches of {args.batch}, {args.failing:.0%} failing:"
        f" loop {statistics.median(loops):.1f} µs + worker {statistics.median(workers):.1f} µs"
        f" = {statistics.median(a + b for a, b in figures):.1f} µs per result (median)"
    )
    print("  rounds: " + ", ".join(f"{a:.1f}+{b:.1f}" for a, b in figures))


if __name__ == "__main__":
    main()
