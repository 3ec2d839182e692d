"""Times as sitewatch shows them: ISO 8601 in UTC with a `Z`, everywhere."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_iso(at: datetime) -> str:
    """Render an aware time as ISO 8601 in UTC (`2026-11-26T10:00:00Z`)."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_iso_or_none(at: datetime | None) -> str | None:
    """Render a time as `utc_iso` does, or None for None."""
    return None if at is None else utc_iso(at)
