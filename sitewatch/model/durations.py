"""Durations as people write them in YAML: 250ms, 10s, 5m, 2h, 1d, or seconds."""

from __future__ import annotations

import math
import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


MAX_DURATION = timedelta(days=36500)
"""The longest duration taken (100 years): longer ones cannot be added to a time."""


def parse_duration(value: object) -> timedelta:
    """Parse a duration; raise ValueError naming the accepted forms (or the maximum)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30s, 5m or 250ms, got {value!r}")
    if isinstance(value, timedelta):
        return value
    seconds: float | None = None
    if isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value)):
        # float() of a 400-digit integer raises OverflowError: compare first.
        seconds = float(value) if abs(value) < 1e300 else (math.inf if value > 0 else -math.inf)
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            number, unit = match.groups()
            seconds = float(number) * _UNIT_SECONDS[unit]
    if seconds is None:
        raise ValueError(
            "expected a duration such as 30s, 5m, 2h, 1d, 250ms or a number of seconds, "
            f"got {_shown(value)}"
        )
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {_shown(value)}")
    if seconds > MAX_DURATION.total_seconds():
        # timedelta itself would overflow past 999999999 days; times a long way before.
        raise ValueError(f"a duration may be at most 36500d (100 years), got {_shown(value)}")
    return timedelta(seconds=seconds)


def _shown(value: object) -> str:
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge number"
    return text if len(text) <= 40 else text[:37] + "..."


def format_duration(value: timedelta) -> str:
    """Render a duration compactly (90s -> 1m30s) for humans."""
    total_ms = round(value.total_seconds() * 1000)
    if total_ms < 1000:
        return f"{total_ms}ms"
    seconds, ms = divmod(total_ms, 1000)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    if seconds or ms or not parts:
        parts.append(f"{seconds}.{ms // 100}s" if ms and not parts else f"{seconds}s")
    return "".join(parts)
