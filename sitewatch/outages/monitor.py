"""The monitor: turns probe results into committed location statuses, verdicts and tickets.

Results are queued and answered at once (re-probe soon?, a prediction from the
cache, used only for timing); a writer task commits them in batches, each batch one
transaction that decides on the rows it reads locked (docs/architecture.md,
"Transactions"). A batch that fails stays queued, in order, and is retried with
backoff: probing goes on, nothing is decided from memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sitewatch.clock import Clock
from sitewatch.model import CheckSpec, LocationStatus, ProbeResult, State
from sitewatch.outages import rules
from sitewatch.outages.board import CheckBoard
from sitewatch.outages.faults import FaultJudge
from sitewatch.outages.recorder import Judged, OutageRecorder, counts_as
from sitewatch.outages.resultqueue import ResultQueue
from sitewatch.paging.plans import warn_unreached
from sitewatch.stats.metrics import Metrics
from sitewatch.storage import Store, StoreConflictError, StoreError

log = logging.getLogger(__name__)

LINGER = timedelta(seconds=1)
"""How long an ordinary result may wait for company before its batch commits."""
RETRY_MAX = timedelta(seconds=10)
"""The longest wait between two attempts to commit a batch that failed."""


class Monitor:
    """Own the results queue of this instance's location and its writer task."""

    def __init__(
        self,
        checks: Sequence[CheckSpec],
        *,
        store: Store,
        recorder: OutageRecorder,
        faults: FaultJudge,
        board: CheckBoard,
        metrics: Metrics,
        clock: Clock,
        location: str,
        linger: timedelta = LINGER,
    ) -> None:
        self._specs = {spec.id: spec for spec in checks}
        self._policies = {spec.id: _policy(spec) for spec in checks}
        self._store = store
        self._recorder = recorder
        self._faults = faults
        self._board = board
        self._metrics = metrics
        self._clock = clock
        self._location = location
        self._linger = linger
        self._queue: ResultQueue[Observed] = ResultQueue(on_drop=self._dropped)
        self._guess: dict[str, LocationStatus] = {}
        """Each check's status as the queued results will make it: for timing only."""
        self._committed: dict[str, LocationStatus] = {}
        """Each check's status at this location as this monitor last committed or read it."""
        self._work = asyncio.Event()
        self._now = asyncio.Event()
        self._committing = asyncio.Lock()
        """One batch at a time: `flush` waits for the writer's batch in flight."""
        self.failing_since: float | None = None
        """When (monotonic) committing started to fail; None while it works."""

    async def start(self) -> None:
        """Load this location's committed statuses (the basis of the predictions)."""
        async with self._store.reading() as tx:
            saved = await tx.checks.location_statuses(list(self._specs))
        self._committed = {
            check: by_location[self._location]
            for check, by_location in saved.items()
            if self._location in by_location
        }
        self._guess = dict(self._committed)

    async def on_result(self, spec: CheckSpec, result: ProbeResult) -> bool:
        """Queue one result; answer at once whether to re-probe soon."""
        self._metrics.observe_probe(spec.customer, result)
        before = self._guess.get(spec.id, LocationStatus())
        guess = rules.observe(before, result, self._policies.get(spec.id) or _policy(spec))
        self._guess[spec.id] = guess.status
        # The step reports serve `sitewatch probe`; the queue keeps what the rules need.
        self._queue.put(Observed(spec.id, result.without_steps(), before, guess))
        self._work.set()
        if guess.may_page(before):
            self._now.set()  # a confirmation or a recovery: commit it without lingering
        return guess.urgent

    async def run(self) -> None:
        """Commit queued results until cancelled; a failure is retried, loudly."""
        failures = 0
        while True:
            await self._wait_for_batch()
            try:
                async with self._committing:
                    batch = self._queue.take()
                    if batch:
                        await self._commit_or_keep(batch)
            except Exception as error:
                failures += 1
                await self._failed(error, failures)
            else:
                failures = 0
                self.failing_since = None

    async def flush(self) -> None:
        """Commit everything queued now, after the batch in flight (at shutdown, in tests)."""
        async with self._committing:
            batch = self._queue.take()
            if batch:
                await self._commit_or_keep(batch)

    async def _commit_or_keep(self, batch: list[Observed]) -> None:
        try:
            await self._commit(batch)
        except BaseException:
            # Rolled back whole: the results go back in front, in order, for the next try.
            self._queue.put_back(batch)
            raise

    @property
    def queued(self) -> int:
        """Return how many results wait to be committed."""
        return len(self._queue)

    async def _wait_for_batch(self) -> None:
        await self._work.wait()
        if not self._now.is_set():
            # Until an urgent result comes or the linger is over: a timer, not a task.
            timer = self._clock.call_later(self._linger.total_seconds(), self._now.set)
            try:
                await self._now.wait()
            finally:
                timer.cancel()
        self._work.clear()
        self._now.clear()

    async def _commit(self, batch: list[Observed]) -> None:
        try:
            await self._commit_once(batch, locked=False)
        except StoreConflictError as conflict:
            # Usually a status moved on since this monitor committed it (another
            # instance of the location probed the check during a hand-over): decide
            # again, on the rows read locked.
            log.info("results at %s: %s; deciding on fresh rows", self._location, conflict)
            await self._commit_once(batch, locked=True)

    async def _commit_once(self, batch: list[Observed], *, locked: bool) -> None:
        """Commit one batch: decide each result on the committed statuses, in order.

        Optimistic by default: the statuses this monitor committed last are the basis,
        and the write is a compare-and-set on their versions, so a basis that another
        writer moved on fails the whole transaction (`StoreConflictError`). `locked`
        reads the basis from the rows, locked, instead.
        """
        now = self._clock.now()
        checks = {entry.check_id for entry in batch}
        async with self._store.transaction() as tx:
            if locked:
                basis = await tx.checks.lock_locations(self._location, checks)
            else:
                basis = {c: self._committed[c] for c in checks if c in self._committed}
            statuses, changed = self._apply(basis, batch)
            based_on = {c: basis[c].version if c in basis else 0 for c in statuses}
            await tx.checks.save_locations(self._location, statuses, based_on=based_on)
            results = [entry.result for entry in batch]
            await tx.checks.add_results(self._location, results)
            fault = await self._faults.judge(tx, results, now)
            at = {check: change.at for check, change in changed.items()}
            judged = await self._recorder.judge(tx, set(changed) | fault.rejudge, now=now, at=at)
        self._adopt(statuses, changed, judged)
        self._faults.adopt(fault)

    def _apply(
        self, committed: dict[str, LocationStatus], batch: list[Observed]
    ) -> tuple[dict[str, LocationStatus], dict[str, Change]]:
        """Apply the batch's results in order to the committed statuses."""
        statuses: dict[str, LocationStatus] = {}
        changed: dict[str, Change] = {}
        for entry in batch:
            spec, result = self._specs.get(entry.check_id), entry.result
            if spec is None:
                continue
            before = statuses.get(spec.id) or committed.get(spec.id) or LocationStatus()
            # The rules are pure: on the very status `on_result` decided on, its
            # decision stands (the usual case), and observing again would only cost.
            if entry.basis is before:
                decision = entry.decision
            else:
                decision = rules.observe(before, result, self._policies[spec.id])
            statuses[spec.id] = decision.status
            # Judged again when the location changes state, and on every failure while
            # it has the check down: a vote held back (a prober fault, a minority)
            # may complete a quorum now.
            if decision.changed_state(before):
                changed[spec.id] = Change(result.started_at, decision.reason)
            elif decision.status.state is State.DOWN and not result.ok:
                reason = changed[spec.id].reason if spec.id in changed else ""
                changed[spec.id] = Change(result.started_at, reason)
        return statuses, changed

    def _adopt(
        self, statuses: dict[str, LocationStatus], changed: dict[str, Change], judged: Judged
    ) -> None:
        """Make memory follow what was committed, and say what changed."""
        self._committed.update(statuses)
        for check, status in statuses.items():
            if not self._queue.has(check):
                self._guess[check] = status
        for check, change in changed.items():
            if change.reason:
                state = statuses[check].state.value
                log.info("check %s at %s: %s (%s)", check, self._location, state, change.reason)
        self._board.update(location=self._location, statuses=statuses, verdicts=judged.verdicts)
        self.report(judged)

    def report(self, judged: Judged) -> None:
        """Log and count what a judgement recorded (the results batch's, or the tick's)."""
        self._board.update(location=self._location, statuses={}, verdicts=judged.verdicts)
        for recorded in judged.recorded:
            spec, transition = recorded.spec, recorded.transition
            classification = counts_as(transition)
            if classification is not None:
                self._metrics.outages.labels(spec.customer, classification.value).inc()
            ticket = f", ticket {recorded.ticket.id}" if recorded.ticket else ""
            log.info(
                "check %s: outage %s (%s)%s: %s",
                spec.id,
                transition.kind.value,
                transition.outage.classification.value,
                ticket,
                transition.reason,
            )
            if recorded.ticket is not None:
                warn_unreached(self._metrics, f"ticket {recorded.ticket.id}", recorded.unreached)

    async def _failed(self, error: Exception, failures: int) -> None:
        if self.failing_since is None:
            self.failing_since = self._clock.monotonic()
        if isinstance(error, StoreError):
            log.warning("results not committed yet (%s); retrying", error)
        else:
            log.exception("committing results failed unexpectedly; retrying")
        self._metrics.internal_errors.labels("results").inc()
        wait = min(RETRY_MAX.total_seconds(), 0.25 * 2 ** min(failures, 8))
        await self._clock.sleep(wait)
        self._work.set()

    def _dropped(self, count: int) -> None:
        self._metrics.results_dropped.inc(count)


@dataclass(slots=True)
class Observed:
    """A queued result, with the status `on_result` saw before it and what it decided."""

    check_id: str
    result: ProbeResult
    basis: LocationStatus
    decision: rules.LocationDecision


@dataclass(frozen=True, slots=True)
class Change:
    """A check whose verdict the batch must judge again: when, and why (empty: a vote)."""

    at: datetime
    reason: str


def _policy(spec: CheckSpec) -> rules.Policy:
    return rules.Policy(confirm=spec.confirm, recover=spec.recover)
