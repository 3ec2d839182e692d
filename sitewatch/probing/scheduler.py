"""When each check runs: one heap of timers, drift-free, spread at start, bounded concurrency."""

from __future__ import annotations

import asyncio
import hashlib
import heapq
import itertools
import logging
import math
from collections.abc import Awaitable, Callable, Collection, Sequence
from datetime import timedelta

from sitewatch.clock import Clock, Timer
from sitewatch.model import CheckSpec, ProbeResult

logger = logging.getLogger(__name__)

RunProbe = Callable[[CheckSpec], Awaitable[ProbeResult]]
"""Probe a check once; expected failures come back as results, never as exceptions."""
OnResult = Callable[[CheckSpec, ProbeResult], Awaitable[bool]]
"""Take a result; answer True to have the check re-probed after its `retry_interval`."""
ObserveLag = Callable[[float], None]
"""Record how late a probe started, in seconds (actual start minus planned start)."""
OnError = Callable[[CheckSpec, Exception], None]
"""Count an exception raised by probing or by result handling (a bug)."""

PhaseOf = Callable[[CheckSpec], float]
"""Seconds from now to a check's first slot, in `[0, interval)`."""

_Timer = tuple[float, int, CheckSpec]
"""(due on the clock's monotonic time, tie-breaking sequence number, check)."""


class Scheduler:
    """Run every check on its own phase, with at most `max_concurrency` probes in flight.

    All timers live in one heap of `(due, seq, check)`; a single dispatcher loop waits
    for the earliest one and starts its probe as a task of one `TaskGroup`. A check is
    off the heap while its probe runs, so it never overlaps itself. Regular runs sit on
    a fixed grid (the check's first due time plus whole intervals), so probe durations
    and lateness never shift the phase. Because a timer is just a heap entry, adding,
    removing or replacing checks at run time can later be a push plus lazy deletion of
    stale entries on pop.

    Collaborators are keyword-only: several share a shape, and a swapped pair of
    callbacks would otherwise type-check.
    """

    def __init__(
        self,
        checks: Sequence[CheckSpec],
        *,
        run_probe: RunProbe,
        on_result: OnResult,
        clock: Clock,
        max_concurrency: int,
        observe_lag: ObserveLag,
        phase: PhaseOf | None = None,
        on_error: OnError | None = None,
        catch_up_since: float | None = None,
    ) -> None:
        _validate(checks, max_concurrency)
        self._checks = tuple(checks)
        self._run_probe = run_probe
        self._on_result = on_result
        self._clock = clock
        self._observe_lag = observe_lag
        self._phase = phase or stable_phase(clock)
        self._on_error = on_error
        self._catch_up_since = catch_up_since
        """When the process started (monotonic): slots that fell between then and the
        first plan were missed while the config loaded, and are caught up at once."""
        self._active = {check.id for check in checks}
        """The checks this instance probes (its share of its location's checks)."""
        self._valid: dict[str, int] = {}
        """Each check's one live timer (its sequence number); older ones lapse on pop."""
        self._running: set[str] = set()
        self._heap: list[_Timer] = []
        self._seq = itertools.count()
        self._origin: dict[str, float] = {}
        """Each check's first due time: its regular slots are origin + k * interval."""
        self._slots = asyncio.Semaphore(max_concurrency)
        self._wake = asyncio.Event()
        self._waiting_until = math.inf
        """The due time the dispatcher sleeps toward; an earlier push must wake it."""
        self._alarm: Timer | None = None
        """The pending wake-up of the dispatcher at `_alarm_at`; None once it rang."""
        self._alarm_at = math.inf

    def assign(self, check_ids: Collection[str], *, missed_since: float | None = None) -> None:
        """Probe exactly these checks from now on; the timers of the others lapse.

        An added check runs at its next slot, or at once if one of its slots fell
        after `missed_since` (monotonic): its previous prober died and may have
        missed it, and waiting a whole interval more would leave the check unprobed
        for longer than the lease and one interval.
        """
        known = {check.id: check for check in self._checks}
        added = {check for check in check_ids if check in known} - self._active
        self._active = {check for check in check_ids if check in known}
        now = self._clock.monotonic()
        for check in sorted(added):
            if check in self._origin and check not in self._running:
                spec = known[check]
                slot = self._next_slot(spec, now)
                missed = missed_since is not None and slot - spec.interval.total_seconds() > (
                    missed_since
                )
                self._push(spec, now if missed else slot)

    @property
    def active(self) -> frozenset[str]:
        """Return the checks this scheduler probes."""
        return frozenset(self._active)

    async def run(self) -> None:
        """Probe every check on its schedule until cancelled, then cancel probes in flight."""
        self._plan_first_runs()
        try:
            async with asyncio.TaskGroup() as tasks:
                while True:
                    # A slot first, then the check: under overload the checks stay on the
                    # heap and the delay shows as lag, instead of piling up probes in
                    # flight that all time out (FIELD-NOTES: 30,000 uncapped checks
                    # collapsed).
                    await self._slots.acquire()
                    check, planned = await self._next_due()
                    tasks.create_task(self._probe(check, planned), name=f"probe {check.id}")
        finally:
            if self._alarm is not None:
                self._alarm.cancel()
                self._alarm = None

    def _plan_first_runs(self) -> None:
        """Put every active check on the heap at its place in its interval.

        A check whose slot fell while the process was starting (loading 20,000 check
        files takes seconds) would otherwise wait for its next slot, up to a whole
        interval more: it is probed within `CATCH_UP` instead, the missed slots
        replayed in their order over that span, so that from `sitewatch run` every
        check is probed within one interval and `CATCH_UP`.
        """
        start = self._clock.monotonic()
        self._heap.clear()
        self._valid.clear()
        since = self._catch_up_since
        missed_span = 0.0 if since is None else max(0.0, start - since)
        squeeze = min(1.0, CATCH_UP / missed_span) if missed_span else 0.0
        for check in self._checks:
            if check.id not in self._origin:
                # Phases spread the load evenly over the interval (no thundering herd,
                # checks of one customer out of step) and stay put across restarts.
                self._origin[check.id] = start + self._phase(check)
            if check.id not in self._active:
                continue
            slot = self._next_slot(check, start, first=True)
            missed = slot - check.interval.total_seconds()
            if since is not None and missed >= since:
                slot = start + (missed - since) * squeeze
            self._push(check, slot)

    async def _next_due(self) -> tuple[CheckSpec, float]:
        """Wait for the earliest timer to come due; take it off the heap with its due time."""
        while True:
            due = self._heap[0][0] if self._heap else math.inf
            if due <= self._clock.monotonic():
                due, seq, check = heapq.heappop(self._heap)
                if self._valid.get(check.id) != seq or check.id not in self._active:
                    continue  # a lapsed timer: the check was handed to another instance
                del self._valid[check.id]
                return check, due
            self._arm_alarm(due)
            self._waiting_until = due
            # Nothing can run between here and the wait, so a push or an alarm that
            # sets the event from now on is one this wait sees.
            self._wake.clear()
            await self._wake.wait()

    def _arm_alarm(self, due: float) -> None:
        """Make sure the dispatcher wakes by `due`, keeping a pending alarm that rings no later."""
        if due == math.inf:
            # An empty heap: only a finished probe can add a timer, and its push wakes us.
            return
        if self._alarm is not None:
            if self._alarm_at <= due:
                return
            self._alarm.cancel()
        # A timer callback, not a task that sleeps: one dispatch per probe arms one, so
        # this runs hundreds of times a second and a task per alarm cost ~20 us each.
        self._alarm_at = due
        self._alarm = self._clock.call_later(due - self._clock.monotonic(), self._ring)

    def _ring(self) -> None:
        """Wake the dispatcher: the alarm's time has come."""
        self._alarm = None
        self._wake.set()

    async def _probe(self, check: CheckSpec, planned: float) -> None:
        """Probe one check, hand on its result, and put the check back on the heap."""
        self._running.add(check.id)
        try:
            urgent = await self._probe_once(check, planned)
        finally:
            self._slots.release()
            self._running.discard(check.id)
        self._reschedule(check, urgent)

    async def _probe_once(self, check: CheckSpec, planned: float) -> bool:
        """Run the probe and the result handler; tell whether an urgent re-probe is wanted."""
        try:
            self._observe_lag(self._clock.monotonic() - planned)
            result = await self._run_probe(check)
            return await self._on_result(check, result)
        except Exception as exc:
            # Probes return expected failures as results, so this is a bug. It must not
            # stop the loop nor silence the check: log it, count it, keep the schedule.
            logger.exception("check %s: probing or handling its result raised", check.id)
            self._count_error(check, exc)
            return False

    def _count_error(self, check: CheckSpec, exc: Exception) -> None:
        """Pass a bug on to the error counter, which must not break the loop either."""
        if self._on_error is None:
            return
        try:
            self._on_error(check, exc)
        except Exception:
            logger.exception("check %s: the on_error callback raised", check.id)

    def _reschedule(self, check: CheckSpec, urgent: bool) -> None:
        """Put the check back: soon after an urgent answer, else on its next regular slot."""
        now = self._clock.monotonic()
        if check.id not in self._active:
            return
        if urgent:
            self._push(check, now + check.retry_interval.total_seconds())
        else:
            self._push(check, self._next_slot(check, now))

    def _next_slot(self, check: CheckSpec, now: float, *, first: bool = False) -> float:
        """Return the check's first regular slot after `now` (at `now` too, if `first`)."""
        origin = self._origin[check.id]
        interval = check.interval.total_seconds()
        if first and origin >= now:
            return origin
        # Slots are computed from the origin, not from the last start, so no error or
        # probe duration accumulates. When the next slot after the planned one has
        # already passed (a slow probe, overload), it is skipped rather than run late
        # in a burst.
        slot = origin + (math.floor((now - origin) / interval) + 1) * interval
        if slot <= now:  # rounding at an exact slot boundary
            slot += interval
        return slot

    def _push(self, check: CheckSpec, due: float) -> None:
        """Put a timer on the heap and wake the dispatcher if it sleeps toward a later one."""
        seq = next(self._seq)
        self._valid[check.id] = seq
        heapq.heappush(self._heap, (due, seq, check))
        if due < self._waiting_until:
            self._wake.set()


CATCH_UP = 5.0
"""Seconds over which the slots missed while starting are replayed."""


def _validate(checks: Sequence[CheckSpec], max_concurrency: int) -> None:
    """Reject settings that would make the scheduler spin or mix up two checks."""
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
    seen: set[str] = set()
    for check in checks:
        if check.id in seen:
            raise ValueError(f"check {check.id}: defined twice; check ids must be unique")
        seen.add(check.id)
        if check.interval <= timedelta(0):
            raise ValueError(f"check {check.id}: interval must be positive, got {check.interval}")
        if check.retry_interval < timedelta(0):
            raise ValueError(
                f"check {check.id}: retry_interval must not be negative, got {check.retry_interval}"
            )


def stable_phase(clock: Clock) -> PhaseOf:
    """Place each check at a fixed point of its interval on the wall clock.

    The point is a hash of the check's id, so it is the same after a restart and on
    every instance: a restart or a hand-over between instances never makes a check
    wait longer than one interval for its next probe.
    """

    def phase(check: CheckSpec) -> float:
        interval = check.interval.total_seconds()
        digest = hashlib.blake2b(check.id.encode(), digest_size=8).digest()
        offset = int.from_bytes(digest, "big") / 2**64 * interval
        return (offset - clock.now().timestamp()) % interval

    return phase
