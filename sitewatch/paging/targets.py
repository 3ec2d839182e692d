"""Whom an escalation level reaches: the resolver protocol the planner depends on.

An escalation level names operator ids and on-call schedule ids. A resolver answers
for one instant, so a level reaches whoever is on call when the page is planned.
`sitewatch.oncall.Resolver` is the implementation; the protocol keeps the planner
independent of how schedules are built.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sitewatch.paging.oncall import Resolution


class TargetResolver(Protocol):
    """Turn the names of an escalation level into operator ids at one instant."""

    def resolve(self, targets: Sequence[str], at: datetime) -> Resolution:
        """Return the operators `targets` reach at `at`, and every name that reaches nobody."""
        ...
