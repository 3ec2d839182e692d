"""Measure the scheduler's own CPU cost: many checks, instant fake probes, the real clock.

Usage, from the project root (sitewatch installed, or PYTHONPATH=.):
    python bench/scheduler_overhead.py [--checks 10000] [--interval 30] [--seconds 10]

The fake probe returns a ready-made result without awaiting anything, so the CPU time
measured is the scheduler's (heap, slots, tasks, wake-ups) plus the event loop's. For
scale, it first measures the floor: a bare loop that only sleeps and wakes at the same
rate (on a virtual machine one timer wake-up alone can cost ~100 us of CPU).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import statistics
import time
from datetime import UTC, datetime, timedelta

from sitewatch.clock import SystemClock
from sitewatch.model import CheckSpec, ProbeResult, ResultKind
from sitewatch.probing.scheduler import Scheduler


def make_checks(count: int, interval: float) -> list[CheckSpec]:
    """Build `count` checks with the given interval in seconds."""
    return [
        CheckSpec(
            id=f"check-{i}",
            customer="bench",
            name=f"Check {i}",
            interval=timedelta(seconds=interval),
            timeout=timedelta(seconds=10),
            confirm=2,
            recover=2,
            retry_interval=timedelta(seconds=5),
            steps=(),
        )
        for i in range(count)
    ]


async def measure(checks: list[CheckSpec], seconds: float, max_concurrency: int) -> None:
    """Run the scheduler for `seconds` and print probes, CPU and lateness figures."""
    result = ProbeResult("bench", datetime.now(UTC), timedelta(0), ResultKind.OK)
    lags: list[float] = []
    rng = random.Random(1)

    async def probe(check: CheckSpec) -> ProbeResult:
        return result

    async def on_result(check: CheckSpec, result: ProbeResult) -> bool:
        return False

    scheduler = Scheduler(
        checks,
        run_probe=probe,
        on_result=on_result,
        clock=SystemClock(),
        max_concurrency=max_concurrency,
        observe_lag=lags.append,
        phase=lambda check: rng.uniform(0, check.interval.total_seconds()),
    )
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        async with asyncio.timeout(seconds):
            await scheduler.run()
    except TimeoutError:
        pass
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    report(len(checks), lags, cpu, wall)


async def measure_floor(rate: float, seconds: float) -> None:
    """Print the CPU cost of waking the event loop `rate` times a second, doing nothing."""
    cpu, wall = time.process_time(), time.perf_counter()
    wakeups = 0
    while time.perf_counter() - wall < seconds:
        await asyncio.sleep(1 / rate)
        wakeups += 1
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(f"floor, bare wake-ups: {wakeups / wall:.0f}/s, {1e6 * cpu / wakeups:.1f} us CPU each")


def report(checks: int, lags: list[float], cpu: float, wall: float) -> None:
    """Print the figures of one run."""
    quantiles = statistics.quantiles(lags, n=100)
    print(f"checks:              {checks}")
    print(f"probes:              {len(lags)} in {wall:.1f} s ({len(lags) / wall:.0f}/s)")
    print(f"CPU:                 {cpu:.3f} s = {100 * cpu / wall:.2f} % of one core")
    print(f"CPU per probe:       {1e6 * cpu / len(lags):.1f} us")
    print(
        f"lag p50/p99/max:     {1e3 * quantiles[49]:.2f} / {1e3 * quantiles[98]:.2f}"
        f" / {1e3 * max(lags):.2f} ms"
    )
    print(
        f"max RSS:             {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )


def main() -> None:
    """Parse the arguments and run the measurement."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--interval", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-concurrency", type=int, default=256)
    args = parser.parse_args()
    checks = make_checks(args.checks, args.interval)
    asyncio.run(measure_floor(args.checks / args.interval, min(args.seconds, 5.0)))
    asyncio.run(measure(checks, args.seconds, args.max_concurrency))


if __name__ == "__main__":
    main()
