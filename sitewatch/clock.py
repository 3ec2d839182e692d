"""Time as a collaborator: the system clock in production, a fake one in tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Timer(Protocol):
    """A pending `call_later`."""

    def cancel(self) -> object:
        """Do not call it after all (nothing happens if it was called already)."""
        ...


class Clock(Protocol):
    """Tell the wall time and the monotonic time, and sleep."""

    def now(self) -> datetime:
        """Return the current wall time, timezone-aware in UTC."""
        ...

    def monotonic(self) -> float:
        """Return seconds on a clock that never goes back (for scheduling)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait this many seconds of this clock's time."""
        ...

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Timer:
        """Call `callback` on the running event loop after this many seconds of this clock."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """Return the current wall time in UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """Return the event loop's monotonic time."""
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        """Sleep on the event loop."""
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Timer:
        """Schedule `callback` on the running loop: a timer, with no task to wake."""
        return asyncio.get_running_loop().call_later(max(0.0, seconds), callback)


class FakeClock:
    """A clock that moves only when told to; sleepers wake as time passes them.

    `advance` moves time forward and lets every sleeper whose deadline has come run
    before it returns, so tests of time-driven loops run in milliseconds.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start or datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
        self._mono = 1000.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> datetime:
        """Return the fake wall time."""
        return self._wall

    def monotonic(self) -> float:
        """Return the fake monotonic time."""
        return self._mono

    async def sleep(self, seconds: float) -> None:
        """Wait until `advance` has moved time past this sleeper's deadline."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._mono + max(0.0, seconds), future))
        await future

    def call_later(self, seconds: float, callback: Callable[[], object]) -> Timer:
        """Call `callback` once `advance` has moved time past the deadline."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((self._mono + max(0.0, seconds), future))
        future.add_done_callback(lambda done: None if done.cancelled() else callback())
        return future

    async def advance(self, delta: timedelta | float) -> None:
        """Move time forward, waking sleepers in deadline order as their time comes."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        target = self._mono + seconds
        while True:
            await _let_tasks_run()
            due = sorted(
                (s for s in self._sleepers if s[0] <= target and not s[1].done()),
                key=lambda s: s[0],
            )
            if not due:
                break
            deadline = due[0][0]
            self._move_to(deadline)
            for entry in [s for s in self._sleepers if s[0] <= deadline]:
                self._sleepers.remove(entry)
                if not entry[1].done():
                    entry[1].set_result(None)
        self._move_to(target)
        await _let_tasks_run()

    def _move_to(self, mono: float) -> None:
        if mono > self._mono:
            self._wall += timedelta(seconds=mono - self._mono)
            self._mono = mono


async def _let_tasks_run() -> None:
    # A few trips through the loop let woken tasks reach their next await.
    for _ in range(10):
        await asyncio.sleep(0)
