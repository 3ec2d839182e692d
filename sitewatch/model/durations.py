"""Durations as people write them in YAML: 250ms, 10s, 5m, 2h, 1d, or seconds."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: object) -> timedelta:
    """Parse a duration; raise ValueError naming the accepted forms."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30s, 5m or 250ms, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"a duration cannot be negative, got {value!r}")
        return timedelta(seconds=float(value))
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            number, unit = match.groups()
            return timedelta(seconds=float(number) * _UNIT_SECONDS[unit])
    raise ValueError(
        f"expected a duration such as 30s, 5m, 2h, 1d, 250ms or a number of seconds, got {value!r}"
    )


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
