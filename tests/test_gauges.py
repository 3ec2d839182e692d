"""The gauges loop: when it reloads the board from a shared database."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from sitewatch.clock import FakeClock
from sitewatch.outages.recurrence import RecurringSchedule
from sitewatch.stats.gauges import ALONE_EVERY, BOARD_EVERY, Gauges
from sitewatch.stats.metrics import Metrics


class Reloads:
    """A gauges loop whose updates only note when they reloaded the board."""

    def __init__(self, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
        self.clock = clock
        self.alone = True
        self.at: list[float] = []
        self._start = clock.monotonic()

        async def update(gauges: Gauges, *, reload: bool = True) -> None:
            if reload:
                self.at.append(clock.monotonic() - self._start)

        monkeypatch.setattr(Gauges, "update", update)
        unused = cast(Any, None)  # update is replaced: store, board and faults go unread
        self.gauges = Gauges(
            store=unused,
            clock=clock,
            metrics=Metrics(),
            board=unused,
            faults=unused,
            schedule=RecurringSchedule([]),
            customers=[],
            alone=lambda: self.alone,
        )


async def test_alone_the_board_reloads_once_a_minute_and_at_once_when_a_peer_appears(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reloads = Reloads(FakeClock(), monkeypatch)
    loop = asyncio.create_task(reloads.gauges.run())
    try:
        await reloads.clock.advance(ALONE_EVERY + 30.5)
        assert reloads.at == [0.0, ALONE_EVERY]
        reloads.alone = False  # another instance beats, 30 s after the last reload
        await reloads.clock.advance(1.0)
        assert reloads.at[-1] == ALONE_EVERY + 31  # long due at the fast cadence
        await reloads.clock.advance(3 * BOARD_EVERY)
        assert reloads.at[-3:] == [ALONE_EVERY + 31 + n * BOARD_EVERY for n in (1, 2, 3)]
    finally:
        loop.cancel()
