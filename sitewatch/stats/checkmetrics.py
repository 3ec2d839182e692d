"""Every check's own series, kept in a compact table and written straight to text.

prometheus_client keeps one object, with its own lock, per labelled series: at 20,000
checks the four per-check families hold 300,000 of them, ~280 MiB, and rendering them
took 7 s (bench/README.md, "What bounds it", 3). Here a check is one small record
(bucket counts, sum, result counts, state). `render` writes the text prometheus_client
would write for the same observations (names, HELP, TYPE, label names and values,
bucket bounds, `_created`) some 50 times faster: 0.12 s for 20,000 checks, on a
worker thread (api/checks.py). `collect` yields the same samples as metric families,
for whoever reads the registry rather than /metrics (prometheus_client's formatting
of those takes seconds again: bench/metrics_render.py).

`render` may run on another thread than the one that observes. It reads a snapshot:
each check's buckets are copied in one step, so `_count` always equals the `+Inf`
bucket and buckets never decrease; `_sum` may miss an observation made meanwhile.
"""

from __future__ import annotations

import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from itertools import accumulate

from prometheus_client import Counter
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from sitewatch.model import ResultKind, State

# Probe durations range from a fast loopback logon (ms) to a probe timeout (s).
PROBE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

DURATION = "sitewatch_probe_duration_seconds"
RESULTS = "sitewatch_probe_results"
"""Without `_total`: prometheus_client names the family so and its samples `_total`."""
UP = "sitewatch_check_up"
STATE = "sitewatch_check_state"
LOCATION_UP = "sitewatch_location_check_up"
_HELP = {
    DURATION: "Duration of one probe (a whole scripted logon).",
    RESULTS: "Probe results by kind (ok or a failure kind).",
    UP: "1 when the check is up, else 0.",
    STATE: "1 for the check's current state, 0 for the others.",
    LOCATION_UP: "1 when the location has the check up, else 0 (each location's own view).",
}

_go: Callable[[float], str] = floatToGoString
"""Format a float as prometheus_client does (as Go does: 1.5e+09); typed here, not there."""

_BOUNDS = (*(float(b) for b in PROBE_BUCKETS), float("inf"))
_LE = tuple(_go(b) for b in _BOUNDS)
_KINDS = tuple(ResultKind)
_KIND_INDEX = {kind: i for i, kind in enumerate(_KINDS)}
_STATES = tuple(State)

_BLOCK = 500
"""Checks per chunk of text (up to ~700 KiB): /metrics sends it chunk by chunk."""


class _Series:
    """One check's samples: what prometheus_client kept in 15 objects, each with a lock."""

    __slots__ = (
        "buckets",
        "check",
        "created",
        "customer",
        "labels",
        "location_lines",
        "locations",
        "results",
        "stamp",
        "state",
        "sum",
    )

    def __init__(self, check: str, customer: str, created: float) -> None:
        self.check = check
        self.customer = customer
        self.labels = f'check="{_escape(check)}",customer="{_escape(customer)}"'.encode()
        """The label pairs every line of the check starts with, escaped once."""
        self.buckets = array("Q", [0]) * len(_BOUNDS)
        """Observations per bucket, not cumulative: an observation changes one item."""
        self.sum = 0.0
        self.results = array("Q", [0]) * len(_KINDS)
        """Results per kind, in `ResultKind` order."""
        self.state = State.UNKNOWN
        self.locations: dict[str, bool] = {}
        """Whether each location has the check up."""
        self.location_lines = b""
        """`locations` as lines of text, rebuilt when they change (rarely)."""
        self.created = created
        """Unix time the series were created: prometheus_client's `_created` samples."""
        self.stamp = _go(created).encode()
        """`created` as the text shows it."""


class CheckMetrics:
    """Hold the per-check families of every check; write them as text or collect them."""

    def __init__(self) -> None:
        self._series: dict[tuple[str, str], _Series] = {}
        # prometheus_client adds `_created` samples unless told not to (the
        # PROMETHEUS_DISABLE_CREATED_SERIES variable, disable_created_metrics()), a
        # switch it reads on every collect. A counter of our own tells which way it is
        # now, so that these families always match the others.
        self._witness = Counter("sitewatch_created_witness", "", registry=None)

    def add(self, check: str, customer: str) -> None:
        """Create the check's series (zero counts, state unknown) if they do not exist."""
        self._get(check, customer)

    def observe(self, check: str, customer: str, kind: ResultKind, seconds: float) -> None:
        """Count one probe result and its duration."""
        series = self._get(check, customer)
        # The first bound >= seconds is the bucket whose `le` takes the observation.
        series.buckets[bisect_left(_BOUNDS, seconds)] += 1
        series.sum += seconds
        series.results[_KIND_INDEX[kind]] += 1

    def set_state(self, check: str, customer: str, state: State) -> None:
        """Show the check's state on both state gauges."""
        self._get(check, customer).state = state

    def set_locations(self, check: str, customer: str, up: dict[str, bool]) -> None:
        """Show whether each location has the check up."""
        series = self._get(check, customer)
        if up == series.locations:
            return
        series.locations = dict(up)
        series.location_lines = b"".join(
            b'%s{%s,location="%s"} %s\n'
            % (
                LOCATION_UP.encode(),
                series.labels,
                _escape(where).encode(),
                b"1.0" if on else b"0.0",
            )
            for where, on in sorted(up.items())
        )

    def render(self) -> Iterator[bytes]:
        """Yield the five families in the Prometheus text format, in chunks."""
        created = self._with_created()
        # A copy made in one step (C code, under the GIL): a check added meanwhile is
        # left out, and the iteration cannot fail on a dict that changed size.
        table = list(self._series.values())
        for header, lines, is_created in _FAMILIES:
            if is_created and not created:
                continue
            yield header
            for start in range(0, len(table), _BLOCK):
                yield b"".join([lines(s) for s in table[start : start + _BLOCK]])

    def collect(self) -> Iterator[Metric]:
        """Yield the four families with the samples prometheus_client would yield."""
        created = self._with_created()
        table = list(self._series.values())
        pairs = ["check", "customer"]
        duration = HistogramMetricFamily(DURATION, _HELP[DURATION], labels=pairs)
        results = CounterMetricFamily(RESULTS, _HELP[RESULTS], labels=[*pairs, "result"])
        up = GaugeMetricFamily(UP, _HELP[UP], labels=pairs)
        state = GaugeMetricFamily(STATE, _HELP[STATE], labels=[*pairs, "state"])
        located = GaugeMetricFamily(LOCATION_UP, _HELP[LOCATION_UP], labels=[*pairs, "location"])
        for s in table:
            labels = [s.check, s.customer]
            since = s.created if created else None
            buckets = list(zip(_LE, accumulate(s.buckets), strict=True))
            duration.add_metric(labels, buckets, s.sum)
            if since is not None:
                # HistogramMetricFamily takes no creation time: add the sample as
                # prometheus_client's own Histogram does.
                where = dict(zip(pairs, labels, strict=True))
                duration.samples.append(Sample(f"{DURATION}_created", where, since))
            for kind, count in zip(_KINDS, s.results, strict=True):
                results.add_metric([*labels, kind.value], count, created=since)
            up.add_metric(labels, 1 if s.state is State.UP else 0)
            for candidate in _STATES:
                state.add_metric([*labels, candidate.value], 1 if candidate is s.state else 0)
            for location, on in sorted(s.locations.items()):
                located.add_metric([*labels, location], 1 if on else 0)
        return iter((duration, results, up, state, located))

    def _get(self, check: str, customer: str) -> _Series:
        series = self._series.get((check, customer))
        if series is None:
            series = self._series[check, customer] = _Series(check, customer, time.time())
        return series

    def _with_created(self) -> bool:
        return any(s.name.endswith("_created") for f in self._witness.collect() for s in f.samples)


def _escape(value: str) -> str:
    """Escape a label value as the text format wants it (backslash, newline, quote)."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _header(name: str, kind: str, help_of: str | None = None) -> bytes:
    """Return a family's HELP and TYPE lines; `help_of` names the family whose HELP it shows."""
    text = _HELP[help_of or name].replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {text}\n# TYPE {name} {kind}\n".encode()


def _template(sample: str, pairs: Iterable[str], value: str) -> bytes:
    """Return one line per extra label pair: `\\0` stands for the check's pairs."""
    return "".join(f"{sample}{{\0{pair}}} {value}\n" for pair in pairs).encode()


# Templates for one check's lines. `%d.0` prints a count as prometheus_client prints
# it, as a float (`3.0`); `\1` stands for the creation time.
_DURATION = (
    _template(f"{DURATION}_bucket", [f',le="{le}"' for le in _LE], "%d.0")
    + _template(f"{DURATION}_count", [""], "%d.0")
    + _template(f"{DURATION}_sum", [""], "%s")
)
_DURATION_CREATED = _template(f"{DURATION}_created", [""], "\1")
_RESULTS = _template(f"{RESULTS}_total", [f',result="{k.value}"' for k in _KINDS], "%d.0")
_RESULTS_CREATED = _template(f"{RESULTS}_created", [f',result="{k.value}"' for k in _KINDS], "\1")
_UP = {state: _template(UP, [""], "1.0" if state is State.UP else "0.0") for state in _STATES}
_STATE = {
    state: b"".join(
        _template(STATE, [f',state="{c.value}"'], "1.0" if c is state else "0.0") for c in _STATES
    )
    for state in _STATES
}


def _duration_lines(s: _Series) -> bytes:
    counts = tuple(accumulate(s.buckets))
    sum_text = _go(s.sum).encode()
    return (_DURATION % (*counts, counts[-1], sum_text)).replace(b"\0", s.labels)


def _duration_created_lines(s: _Series) -> bytes:
    return _DURATION_CREATED.replace(b"\1", s.stamp).replace(b"\0", s.labels)


def _results_lines(s: _Series) -> bytes:
    return (_RESULTS % tuple(s.results)).replace(b"\0", s.labels)


def _results_created_lines(s: _Series) -> bytes:
    return _RESULTS_CREATED.replace(b"\1", s.stamp).replace(b"\0", s.labels)


def _up_lines(s: _Series) -> bytes:
    return _UP[s.state].replace(b"\0", s.labels)


def _state_lines(s: _Series) -> bytes:
    return _STATE[s.state].replace(b"\0", s.labels)


def _location_lines(s: _Series) -> bytes:
    return s.location_lines


# Each family as prometheus_client writes it: its `_created` samples follow it, as a
# gauge family of their own with the same HELP (only when `_created` is on).
_FAMILIES: tuple[tuple[bytes, Callable[[_Series], bytes], bool], ...] = (
    (_header(DURATION, "histogram"), _duration_lines, False),
    (_header(f"{DURATION}_created", "gauge", DURATION), _duration_created_lines, True),
    (_header(f"{RESULTS}_total", "counter", RESULTS), _results_lines, False),
    (_header(f"{RESULTS}_created", "gauge", RESULTS), _results_created_lines, True),
    (_header(UP, "gauge"), _up_lines, False),
    (_header(STATE, "gauge"), _state_lines, False),
    (_header(LOCATION_UP, "gauge"), _location_lines, False),
)
