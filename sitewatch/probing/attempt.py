"""One probe run as it goes: step reports, extracted values, then the result.

Everything recorded here ends up in the database, the API, tickets and pages, so
every text is redacted first, then made one printable line, then cut to a bound:
in that order, so that a cut never leaves half a secret.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sitewatch.clock import Clock
from sitewatch.model import CheckSpec, ProbeResult, ResultKind, Step, StepReport
from sitewatch.model.durations import format_duration
from sitewatch.model.redaction import redact
from sitewatch.probing.excerpt import excerpt, printable
from sitewatch.probing.verdict import Answer, Verdict

PART_CHARS = 300
"""The longest one part of a detail (a problem, a note, a URL) may be."""


class Attempt:
    """Record a probe's steps as they happen and say how the probe went."""

    def __init__(self, check: CheckSpec, clock: Clock, *, reports: bool = True) -> None:
        """Time and judge a probe of `check`; with `reports`, keep a report of every step.

        Without them (the service: it stores results, not steps) a step that went
        well leaves nothing behind, and a failed or slow one only the result's detail.
        """
        self.check = check
        self._keep_reports = reports
        self.values: dict[str, str] = {}
        self.status: int | None = None
        """The status of the step in flight, once its headers have come."""
        self._clock = clock
        self._reports: list[StepReport] = []
        self._kind = ResultKind.OK
        self._detail = ""
        self._index, self._url, self._started = 0, "", 0.0
        self._step: Step | None = None

    def begin(self, index: int, step: Step, url: str) -> None:
        """Start timing step `index`, which requests `url`."""
        self._index, self._step, self._url = index, step, url
        self._started, self.status = self._clock.monotonic(), None

    def elapsed(self) -> timedelta:
        """Return how long the step in flight has taken so far."""
        return timedelta(seconds=self._clock.monotonic() - self._started)

    def finish(self, answer: Answer, verdict: Verdict) -> None:
        """Record a step that got an answer, judged."""
        notes = list(verdict.problems)
        body = answer.body
        if body.truncated:
            notes.append(f"read only the first {body.size} bytes of the body")
        if body.note is not None:
            notes.append(body.note)
        if verdict.kind is not ResultKind.OK and body.text:
            notes.append(f'body starts "{excerpt(body.text, self.check.secrets)}"')
        unread = f"cannot read the body: {body.unreadable}"
        if verdict.kind is not ResultKind.OK and body.unreadable and unread not in notes:
            notes.append(f"body not shown: {body.unreadable}")
        self._record(verdict.kind, verdict.problems, notes)

    def fail(self, kind: ResultKind, problem: str) -> None:
        """Record a step that failed without an answer to judge."""
        self._record(kind, (problem,), [problem])

    def fail_internally(self, error: BaseException) -> None:
        """Record that the probe itself broke (a bug): `content`, and say so."""
        problem = f"internal error in the probe ({type(error).__name__}), logged as a bug"
        if self._step is None:
            self._kind, self._detail = ResultKind.CONTENT, problem
        else:
            self._record(ResultKind.CONTENT, (problem,), [problem])

    def time_out(self) -> None:
        """Record that the probe ran out of its check's timeout."""
        limit = format_duration(self.check.timeout)
        problem = f"no complete answer within the check's timeout of {limit}"
        if self._step is None:
            self._kind, self._detail = ResultKind.TIMEOUT, problem
        else:
            self._record(ResultKind.TIMEOUT, (problem,), [problem])

    def result(self, started_at: datetime, seconds: float) -> ProbeResult:
        """Return the probe's result: the first failure wins, else the first slow step."""
        return ProbeResult(
            check_id=self.check.id,
            started_at=started_at,
            duration=timedelta(seconds=seconds),
            kind=self._kind,
            detail=self._detail,
            steps=tuple(self._reports),
        )

    def shown(self, text: str) -> str:
        """Return `text` as a result may show it: redacted, printable, bounded."""
        return printable(self.redact(text))[:PART_CHARS]

    def redact(self, text: str) -> str:
        """Return `text` with the check's secrets hidden (for a log, say)."""
        return redact(text, self.check.secrets)

    def _record(self, kind: ResultKind, problems: tuple[str, ...], notes: list[str]) -> None:
        assert self._step is not None, "a step must begin before it is recorded"
        if kind is ResultKind.OK and not self._keep_reports:
            self._step = None  # nothing to tell of a step that went well
            return
        url = self.shown(self._url)
        report = StepReport(
            index=self._index,
            method=self._step.method,
            url=url,
            status=self.status,
            elapsed=self.elapsed(),
            ok=kind is ResultKind.OK,
            detail="; ".join(map(self.shown, notes)),
        )
        if self._keep_reports:
            self._reports.append(report)
        self._step = None
        # A failure ends the probe and wins; a slow step lets it go on, and the first
        # slow step is the headline unless something fails later.
        if kind is ResultKind.OK or (kind is ResultKind.SLOW and self._kind is ResultKind.SLOW):
            return
        self._kind = kind
        where = f"step {self._index} {report.method} {url}"
        self._detail = f"{where}: {'; '.join(map(self.shown, problems))}"
