"""The scheduler decides when each check runs; these tests drive it with a FakeClock."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from sitewatch.clock import FakeClock
from sitewatch.model import CheckSpec, ProbeResult, ResultKind
from sitewatch.probing.scheduler import PhaseOf, Scheduler
from tests.builders import make_check

START = 1000.0
"""FakeClock's monotonic time when a test begins."""


def fixed_phases(*fractions: float) -> PhaseOf:
    """Hand out the given fractions of each interval as first-run offsets, in order."""
    left = list(fractions)

    def phase(check: CheckSpec) -> float:
        return left.pop(0) * check.interval.total_seconds()

    return phase


@dataclass
class FakeSite:
    """Answer probes after `duration` seconds of fake time, recording what happened."""

    clock: FakeClock
    duration: float = 0.0
    raise_on: set[tuple[str, int]] = field(default_factory=set)
    """(check id, probe number from 0) pairs whose probe raises instead of answering."""
    starts: list[tuple[str, float]] = field(default_factory=list)
    in_flight: Counter[str] = field(default_factory=Counter)
    max_in_flight: int = 0
    max_in_flight_per_check: int = 0
    cancelled: int = 0

    async def probe(self, check: CheckSpec) -> ProbeResult:
        """Probe the fake site, taking `duration` seconds of fake time."""
        number = len(self.starts_of(check.id))
        self.starts.append((check.id, self.clock.monotonic()))
        self.in_flight[check.id] += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight.total())
        self.max_in_flight_per_check = max(self.max_in_flight_per_check, self.in_flight[check.id])
        try:
            if self.duration:
                await self.clock.sleep(self.duration)
            if (check.id, number) in self.raise_on:
                raise RuntimeError(f"bug while probing {check.id}")
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        finally:
            self.in_flight[check.id] -= 1
        return ProbeResult(
            check_id=check.id,
            started_at=self.clock.now(),
            duration=timedelta(seconds=self.duration),
            kind=ResultKind.OK,
        )

    def starts_of(self, check_id: str) -> list[float]:
        """Return when each probe of one check started, relative to the test's start."""
        return [at - START for cid, at in self.starts if cid == check_id]


@dataclass
class Harness:
    """A scheduler wired to a fake site, recording lags, results and errors."""

    clock: FakeClock
    site: FakeSite
    scheduler: Scheduler
    lags: list[float]
    errors: list[tuple[str, Exception]]


def make_harness(
    checks: list[CheckSpec],
    *,
    duration: float = 0.0,
    max_concurrency: int = 100,
    urgent: Callable[[CheckSpec, int], bool] = lambda check, number: False,
    phase: PhaseOf | None = None,
    raise_on: set[tuple[str, int]] | None = None,
    result_raises_on: set[tuple[str, int]] | None = None,
    catch_up_since: float | None = None,
) -> Harness:
    """Wire a scheduler to a fake site; `urgent(check, n)` answers for the n-th result."""
    clock = FakeClock()
    site = FakeSite(clock, duration, raise_on or set())
    results: Counter[str] = Counter()
    lags: list[float] = []
    errors: list[tuple[str, Exception]] = []

    async def on_result(check: CheckSpec, result: ProbeResult) -> bool:
        number = results[check.id]
        results[check.id] += 1
        if (check.id, number) in (result_raises_on or set()):
            raise KeyError(f"bug while handling {check.id}")
        return urgent(check, number)

    scheduler = Scheduler(
        checks,
        run_probe=site.probe,
        on_result=on_result,
        clock=clock,
        max_concurrency=max_concurrency,
        observe_lag=lags.append,
        phase=phase,
        on_error=lambda check, exc: errors.append((check.id, exc)),
        catch_up_since=catch_up_since,
    )
    return Harness(clock, site, scheduler, lags, errors)


@asynccontextmanager
async def running(scheduler: Scheduler) -> AsyncIterator[asyncio.Task[None]]:
    """Run the scheduler in a task for the duration of the block, then cancel it."""
    task = asyncio.create_task(scheduler.run())
    try:
        yield task
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def test_planned_starts_stay_on_phase_over_many_intervals_even_when_probes_take_time() -> (
    None
):
    checks = [make_check(f"c{i}", interval=10) for i in range(3)]
    h = make_harness(checks, duration=4.0)
    async with running(h.scheduler):
        await h.clock.advance(500)
    for check in checks:
        starts = h.site.starts_of(check.id)
        assert len(starts) >= 49
        for k, at in enumerate(starts):
            assert at == pytest.approx(starts[0] + 10 * k, abs=1e-6)
    assert max(h.lags) == pytest.approx(0, abs=1e-6)


async def test_a_probe_slower_than_its_interval_skips_missed_slots_instead_of_bursting() -> None:
    h = make_harness([make_check("slow", interval=10)], duration=25.0, phase=fixed_phases(0.0))
    async with running(h.scheduler):
        await h.clock.advance(200)
    starts = h.site.starts_of("slow")
    assert starts == pytest.approx([30.0 * k for k in range(len(starts))])
    assert len(starts) == 7


async def test_first_runs_are_spread_across_the_first_interval() -> None:
    checks = [make_check(f"c{i}", interval=30) for i in range(100)]
    h = make_harness(checks)
    async with running(h.scheduler):
        await h.clock.advance(0)
        at_start = len(h.site.starts)
        await h.clock.advance(29.999)
    firsts = [h.site.starts_of(check.id)[0] for check in checks]
    assert at_start <= 1
    assert all(0 <= at < 30 for at in firsts)
    assert {int(at // 3) for at in firsts} == set(range(10)), "every tenth of the interval"


async def test_slots_missed_while_the_process_started_are_caught_up_within_five_seconds() -> None:
    # The process started 10 s before probing could begin (a big config loading). A
    # check whose slot fell in those 10 s would wait up to a whole interval more;
    # instead the missed slots are replayed, in order, over the next 5 s.
    checks = [make_check(name, interval=30) for name in ("a", "b", "c")]
    h = make_harness(checks, phase=fixed_phases(2 / 30, 25 / 30, 29 / 30), catch_up_since=990.0)
    async with running(h.scheduler):
        await h.clock.advance(60)
    assert h.site.starts_of("a") == pytest.approx([2.0, 32.0])  # its slot was not missed
    assert h.site.starts_of("b") == pytest.approx([2.5, 25.0, 55.0])  # missed at -5 s
    assert h.site.starts_of("c") == pytest.approx([4.5, 29.0, 59.0])  # missed at -1 s


async def test_an_urgent_answer_reprobes_after_the_retry_interval_then_returns_to_phase() -> None:
    # "far" keeps the dispatcher asleep toward a timer 30 minutes away, so the urgent
    # re-probe happens only if a finished probe wakes it early.
    checks = [make_check("portal", interval=30, retry=5), make_check("far", interval=3600)]
    h = make_harness(
        checks,
        duration=1.0,
        urgent=lambda check, number: check.id == "portal" and number == 1,
        phase=fixed_phases(0.0, 0.5),
    )
    async with running(h.scheduler):
        await h.clock.advance(125)
    assert h.site.starts_of("portal") == pytest.approx([0, 30, 36, 60, 90, 120])
    assert max(h.lags) == pytest.approx(0, abs=1e-6)


async def test_probes_in_flight_never_exceed_max_concurrency_and_overload_shows_as_lag() -> None:
    # 20 checks every 10 s at 3 s each need 6 slots; 2 slots can start only 2/3 per second.
    checks = [make_check(f"c{i:02}", interval=10) for i in range(20)]
    h = make_harness(checks, duration=3.0, max_concurrency=2)
    async with running(h.scheduler):
        for _ in range(20):
            await h.clock.advance(5)
            # Overload waits on the heap, not as a pile of tasks: this test, the
            # scheduler, its alarm and at most two probes.
            assert len(asyncio.all_tasks()) <= 2 + 3
    assert h.site.max_in_flight == 2
    assert len(h.site.starts) == pytest.approx(100 * 2 / 3, abs=2)
    assert max(h.lags) > 10


async def test_one_check_never_overlaps_itself_even_with_immediate_urgent_reprobes() -> None:
    checks = [make_check(f"c{i}", interval=10, retry=0) for i in range(5)]
    h = make_harness(checks, duration=25.0, urgent=lambda check, number: True)
    async with running(h.scheduler):
        await h.clock.advance(300)
    assert h.site.max_in_flight_per_check == 1
    for check in checks:
        starts = h.site.starts_of(check.id)
        assert all(b - a == pytest.approx(25) for a, b in itertools.pairwise(starts))


@pytest.mark.parametrize(
    "where",
    ["run_probe", "on_result"],
)
async def test_an_exception_is_logged_and_counted_and_the_check_keeps_its_schedule(
    where: str, caplog: pytest.LogCaptureFixture
) -> None:
    bug = {("portal", 1)}
    h = make_harness(
        [make_check("portal", interval=30)],
        duration=1.0,
        phase=fixed_phases(0.0),
        raise_on=bug if where == "run_probe" else None,
        result_raises_on=bug if where == "on_result" else None,
    )
    with caplog.at_level(logging.ERROR, logger="sitewatch.scheduler"):
        async with running(h.scheduler):
            await h.clock.advance(100)
    assert h.site.starts_of("portal") == pytest.approx([0, 30, 60, 90])
    assert [check_id for check_id, _ in h.errors] == ["portal"]
    [record] = caplog.records
    assert "portal" in record.getMessage()
    assert record.exc_info is not None


async def test_an_on_error_callback_that_raises_does_not_stop_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    site = FakeSite(clock, raise_on={("portal", 0)})

    async def on_result(check: CheckSpec, result: ProbeResult) -> bool:
        return False

    def broken_counter(check: CheckSpec, exc: Exception) -> None:
        raise ValueError("counter is broken")

    scheduler = Scheduler(
        [make_check("portal", interval=30)],
        run_probe=site.probe,
        on_result=on_result,
        clock=clock,
        max_concurrency=4,
        observe_lag=lambda lag: None,
        phase=fixed_phases(0.0),
        on_error=broken_counter,
    )
    with caplog.at_level(logging.ERROR, logger="sitewatch.scheduler"):
        async with running(scheduler):
            await clock.advance(65)
    assert site.starts_of("portal") == pytest.approx([0, 30, 60])
    assert len(caplog.records) == 2


async def test_cancelling_run_cancels_probes_in_flight_and_leaves_no_tasks_behind() -> None:
    checks = [make_check(f"c{i}", interval=10) for i in range(5)]
    h = make_harness(checks, duration=8.0)
    task = asyncio.create_task(h.scheduler.run())
    await h.clock.advance(15)
    in_flight = h.site.in_flight.total()
    assert in_flight > 0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert h.site.cancelled == in_flight
    assert asyncio.all_tasks() == {asyncio.current_task()}
    probes = len(h.site.starts)
    await h.clock.advance(60)
    assert len(h.site.starts) == probes


async def test_a_restart_keeps_every_check_on_its_phase() -> None:
    checks = [make_check(f"c{i}", interval=30) for i in range(20)]
    first = make_harness(checks)
    async with running(first.scheduler):
        await first.clock.advance(61)
    before = {c.id: first.site.starts_of(c.id)[-1] for c in checks}
    # A new process, 7.3 s later, on the same wall clock: every check is due at its old
    # phase again, so none waits longer than one interval for its next probe.
    second = Scheduler(
        checks,
        run_probe=first.site.probe,
        on_result=lambda check, result: _not_urgent(),
        clock=first.clock,
        max_concurrency=100,
        observe_lag=lambda lag: None,
    )
    await first.clock.advance(7.3)
    restarted_at = first.clock.monotonic() - 1000.0
    async with running(second):
        await first.clock.advance(30)
    for check in checks:
        after = [at for at in first.site.starts_of(check.id) if at >= restarted_at]
        gap = after[0] - before[check.id]
        assert gap == pytest.approx(30.0) or gap == pytest.approx(60.0), (check.id, gap)


async def test_checks_handed_to_another_instance_stop_and_taken_ones_start_on_phase() -> None:
    checks = [make_check("a", interval=30), make_check("b", interval=30)]
    h = make_harness(checks, phase=fixed_phases(0.0, 0.5))
    async with running(h.scheduler):
        await h.clock.advance(31)
        h.scheduler.assign({"b"})
        await h.clock.advance(60)
        h.scheduler.assign({"a", "b"})
        await h.clock.advance(60)
    assert h.site.starts_of("a") == pytest.approx([0, 30, 120, 150])
    assert h.site.starts_of("b") == pytest.approx([15, 45, 75, 105, 135])


async def _not_urgent() -> bool:
    return False


@pytest.mark.parametrize(
    ("checks", "max_concurrency", "message"),
    [
        ([make_check("a", interval=0)], 1, "check a: interval must be positive"),
        ([make_check("a", retry=-1)], 1, "check a: retry_interval must not be negative"),
        ([make_check("a"), make_check("a")], 1, "check a: defined twice"),
        ([make_check("a")], 0, "max_concurrency must be at least 1"),
    ],
    ids=["zero interval", "negative retry", "duplicate id", "no concurrency"],
)
def test_settings_that_would_spin_or_mix_up_checks_are_rejected(
    checks: list[CheckSpec], max_concurrency: int, message: str
) -> None:
    async def never_probe(check: CheckSpec) -> ProbeResult:
        raise AssertionError

    async def never_judge(check: CheckSpec, result: ProbeResult) -> bool:
        raise AssertionError

    with pytest.raises(ValueError, match=message):
        Scheduler(
            checks,
            run_probe=never_probe,
            on_result=never_judge,
            clock=FakeClock(),
            max_concurrency=max_concurrency,
            observe_lag=lambda lag: None,
        )
