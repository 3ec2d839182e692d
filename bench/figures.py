"""Arithmetic of the benchmark: Prometheus text, histogram quantiles, medians, the report.

Everything here is pure: it takes scraped text and measured numbers and returns
figures or lines of text, so run.py stays about sequencing the processes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

Histogram = list[tuple[float, float]]
"""Cumulative buckets of a Prometheus histogram: (upper bound, count), +Inf last."""


def counter_by_label(text: str, name: str, label: str) -> dict[str, float]:
    """Sum the samples of counter `name` in Prometheus text by the value of `label`."""
    sums: dict[str, float] = {}
    prefix = name + "{"
    needle = f'{label}="'
    for line in text.splitlines():
        if not line.startswith(prefix):
            continue
        labels, _, value = line.rpartition("} ")
        start = labels.find(needle)
        if start < 0:
            continue
        start += len(needle)
        key = labels[start : labels.index('"', start)]
        sums[key] = sums.get(key, 0.0) + float(value)
    return sums


def histogram(text: str, name: str) -> Histogram:
    """Return the cumulative buckets of an unlabelled histogram in Prometheus text."""
    prefix = name + '_bucket{le="'
    buckets = []
    for line in text.splitlines():
        if line.startswith(prefix):
            bound, _, count = line[len(prefix) :].partition('"} ')
            buckets.append((math.inf if bound == "+Inf" else float(bound), float(count)))
    return sorted(buckets)


def histogram_delta(later: Histogram, earlier: Histogram) -> Histogram:
    """Return the buckets of what was observed between two scrapes."""
    before = dict(earlier)
    return [(bound, count - before.get(bound, 0.0)) for bound, count in later]


def quantile(buckets: Histogram, q: float) -> float:
    """Estimate a quantile as Prometheus' histogram_quantile does (linear in the bucket).

    A quantile that falls in the +Inf bucket returns the highest finite bound.
    """
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return math.nan
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower
            inside = count - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, count
    return lower


def highest_bucket(buckets: Histogram) -> float:
    """Return the upper bound of the highest non-empty bucket (the max is at most this)."""
    previous, top = 0.0, 0.0
    for bound, count in buckets:
        if count > previous:
            top = bound
        previous = count
    return top


def median(values: Iterable[float | None]) -> float | None:
    """Return the median of the values that are known, or None if none is."""
    known = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(known) if known else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the `q` quantile of raw samples (nearest rank), or None without samples."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


@dataclass(frozen=True)
class Target:
    """One target of the issue and whether a figure meets it."""

    name: str
    limit: str
    measured: str
    holds: bool | None
    """None: not measured (for instance paging is not built yet)."""

    def line(self) -> str:
        """Render the target as one report line."""
        verdict = {True: "holds", False: "FAILS", None: "pending"}[self.holds]
        return f"  {verdict:<8} {self.name}: {self.measured} (target {self.limit})"


def table(rows: Sequence[Mapping[str, str]], columns: Sequence[tuple[str, str]]) -> list[str]:
    """Render rows as a plain-text table with the given (key, heading) columns."""
    widths = [
        max(len(heading), *(len(row.get(key, "")) for row in rows)) for key, heading in columns
    ]
    lines = ["  ".join(h.rjust(w) for (_, h), w in zip(columns, widths, strict=True))]
    for row in rows:
        cells = [row.get(key, "-").rjust(w) for (key, _), w in zip(columns, widths, strict=True)]
        lines.append("  ".join(cells))
    return lines


def fmt(value: float | None, unit: str = "", digits: int = 1) -> str:
    """Format a figure with its unit, or "-" when unknown."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:,.{digits}f}{unit}"


def fmt_seconds(value: float | None) -> str:
    """Format a duration in ms below a second, else in s."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value * 1000:.1f}ms" if value < 1 else f"{value:.2f}s"
