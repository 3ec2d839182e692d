"""Recurring planned events from the config: RFC 5545 rules in local time -> Windows.

Operators declare them under `recurring_maintenance:`. Each occurrence is a
`Window` declared by `config` at its own start, so it is a planned event like any
window declared in time. Rules are read in the entry's time zone (a Sunday 02:00
window stays at 02:00 local across daylight saving changes) and every occurrence
is returned in UTC. Nothing here is stored: occurrences are recomputed from the
config, under ids that say which rule and which start they come from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as rfc5545

from sitewatch.config.recurring import RecurringMaintenance
from sitewatch.model import Window

CONFIG_AUTHOR = "config"
"""`declared_by` of every recurring occurrence (API principals are `role:id`)."""
_ID = re.compile(r"^cfg-(?P<digest>[0-9a-f]{8})-(?P<start>\d{8}T\d{6})Z$")


class RecurringSchedule:
    """Compute the occurrences of every configured recurring window, as Windows."""

    def __init__(self, entries: Sequence[RecurringMaintenance]) -> None:
        self._entries = {entry.digest: entry for entry in entries}
        self._rules = {
            digest: rfc5545.rrulestr(entry.rule, dtstart=datetime.combine(entry.starting, time(0)))
            for digest, entry in self._entries.items()
        }

    @property
    def longest(self) -> timedelta:
        """Return the longest duration of any entry (how far back an occurrence reaches)."""
        return max((entry.duration for entry in self._entries.values()), default=timedelta(0))

    def between(self, since: datetime, until: datetime) -> list[Window]:
        """Return the occurrences that overlap `[since, until)`, by start."""
        found = [
            window for digest in self._entries for window in self._occurrences(digest, since, until)
        ]
        return sorted(found, key=lambda window: (window.start, window.id))

    def find(self, window_id: str) -> Window | None:
        """Return the occurrence with this id, or None (for an id of any form)."""
        match = _ID.match(window_id)
        if match is None or match["digest"] not in self._entries:
            return None
        try:
            start = datetime.strptime(match["start"], "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
        except ValueError:
            return None
        found = self._occurrences(match["digest"], start, start + timedelta(microseconds=1))
        return next((window for window in found if window.id == window_id), None)

    def _occurrences(self, digest: str, since: datetime, until: datetime) -> list[Window]:
        entry, rule = self._entries[digest], self._rules[digest]
        zone = ZoneInfo(entry.timezone)
        # The rule runs on naive local times; a day of margin on each side covers
        # every offset, and the exact overlap is decided in UTC below.
        low = (since - entry.duration).astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
        high = until.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
        windows = {}
        for local in rule.between(low, high, inc=True):
            # fold=0: a start in the spring-forward gap begins when the clock jumps
            # (02:30 CET is 03:30 CEST); a repeated autumn time means the first one.
            start = local.replace(tzinfo=zone).astimezone(UTC)
            end = start + entry.duration
            if start < until and end > since:
                window = _window(entry, digest, start, end)
                windows[window.id] = window
        return list(windows.values())


def _window(entry: RecurringMaintenance, digest: str, start: datetime, end: datetime) -> Window:
    return Window(
        id=f"cfg-{digest}-{start:%Y%m%dT%H%M%S}Z",
        customer=entry.customer,
        checks=entry.checks,
        kind=entry.kind,
        start=start,
        end=end,
        declared_at=start,
        declared_by=CONFIG_AUTHOR,
        note=entry.note,
    )


def is_from_config(window: Window) -> bool:
    """Tell whether a window is an occurrence of a recurring entry of the config."""
    return window.declared_by == CONFIG_AUTHOR
