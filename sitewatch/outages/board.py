"""The check board: every check's verdict and its status at each location, as committed.

A cache for what is read often and may lag a moment (metrics, the console): the
monitor updates it after each of its commits, and `refresh` reloads it from the
database (every few seconds) to take in what other instances committed. The API
reads the database itself (`read_views`), through the same function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sitewatch.model import CheckSpec, LocationStatus, ResultKind, State, Verdict
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store, Tx

READ_BY_ID = 500
"""Up to this many checks, `read_views` looks them up by id rather than reading all."""
REFRESH_SLICE = 500
"""Checks compared between two yields to the event loop while the board reloads."""


@dataclass(frozen=True, slots=True)
class CheckView:
    """One check as the API and the console show it."""

    spec: CheckSpec
    verdict: Verdict = field(default_factory=Verdict)
    locations: Mapping[str, LocationStatus] = field(default_factory=dict)

    @property
    def last(self) -> tuple[ResultKind | None, datetime | None]:
        """Return the latest result of any location, and when it started."""
        latest = max(
            (s for s in self.locations.values() if s.last_result_at is not None),
            key=lambda s: s.last_result_at or datetime.min,
            default=None,
        )
        return (None, None) if latest is None else (latest.last_result, latest.last_result_at)


async def read_views(tx: Tx, specs: Sequence[CheckSpec]) -> list[CheckView]:
    """Read these checks' verdicts and location statuses, in id order.

    A customer's few checks are looked up by id: reading every check's rows to show
    ten cost ~100 ms of CPU at 10,000 checks per request (bench/api_load.py). Many
    checks (an operator's list) are read in one pass over the tables.
    """
    ids = None if len(specs) > READ_BY_ID else [spec.id for spec in specs]
    verdicts = await tx.checks.verdicts(ids)
    locations = await tx.checks.location_statuses(ids)
    return [
        CheckView(spec, verdicts.get(spec.id, Verdict()), locations.get(spec.id, {}))
        for spec in sorted(specs, key=lambda spec: spec.id)
    ]


class CheckBoard:
    """Hold the latest committed view of every check, and keep the state gauges true."""

    def __init__(self, specs: Sequence[CheckSpec], metrics: Metrics) -> None:
        self._specs = {spec.id: spec for spec in specs}
        self._views = {spec.id: CheckView(spec) for spec in specs}
        self._metrics = metrics
        for spec in specs:
            metrics.set_state(spec.id, spec.customer, State.UNKNOWN)

    def views(self) -> list[CheckView]:
        """Return every check, in id order."""
        return [self._views[check] for check in sorted(self._views)]

    def view(self, check: str) -> CheckView | None:
        """Return one check's view, or None if it is not configured."""
        return self._views.get(check)

    async def refresh(self, store: Store) -> None:
        """Reload every check from the database; show those another instance changed."""
        async with store.reading() as tx:
            verdicts = await tx.checks.verdicts()
            locations = await tx.checks.location_statuses()
        for n, (check, old) in enumerate(list(self._views.items()), 1):
            verdict, where = verdicts.get(check, Verdict()), locations.get(check, {})
            if verdict != old.verdict or where != old.locations:
                self._show(CheckView(old.spec, verdict, where))
            if n % REFRESH_SLICE == 0:
                await asyncio.sleep(0)  # thousands of checks: let the probes run between

    def update(
        self,
        *,
        location: str,
        statuses: Mapping[str, LocationStatus],
        verdicts: Mapping[str, Verdict],
    ) -> None:
        """Take in what a transaction just committed."""
        for check, status in statuses.items():
            old = self._views.get(check)
            if old is None:
                continue
            verdict = verdicts.get(check, old.verdict)
            view = CheckView(old.spec, verdict, {**old.locations, location: status})
            shown = old.locations.get(location)
            if verdict is old.verdict and shown is not None and shown.state is status.state:
                self._views[check] = view  # most results: nothing a gauge shows moved
            else:
                self._show(view)
        for check, verdict in verdicts.items():
            old = self._views.get(check)
            if old is not None and check not in statuses:
                self._show(CheckView(old.spec, verdict, old.locations))

    def in_state(self, states: Iterable[State]) -> list[str]:
        """Return the checks whose verdict is in one of these states."""
        wanted = set(states)
        return [check for check, view in self._views.items() if view.verdict.state in wanted]

    def _show(self, view: CheckView) -> None:
        old = self._views.get(view.spec.id)
        self._views[view.spec.id] = view
        if old is None or old.verdict.state is not view.verdict.state:
            self._metrics.set_state(view.spec.id, view.spec.customer, view.verdict.state)
        # The gauge shows up or not per location; it ignores a mapping it already shows,
        # which is cheaper to tell than whether any status changed (every result does).
        up = {where: status.state is State.UP for where, status in view.locations.items()}
        self._metrics.set_locations(view.spec.id, view.spec.customer, up)
