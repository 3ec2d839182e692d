"""Maintenance windows: what a customer declared, its kind and state, its audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MaintenanceKind(StrEnum):
    """What a customer says a planned event is for."""

    SERVER_INSTALL = "server-install"
    HARDWARE_REPLACEMENT = "hardware-replacement"
    SOFTWARE_UPGRADE = "software-upgrade"
    OS_UPGRADE = "os-upgrade"
    OTHER = "other"


class WindowState(StrEnum):
    """Where a maintenance window stands relative to now."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    ENDED = "ended"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window a customer (or an operator) declared."""

    id: str
    customer: str
    checks: tuple[str, ...]
    """The checks it covers; empty means every check of the customer."""
    kind: MaintenanceKind
    start: datetime
    end: datetime
    declared_at: datetime
    declared_by: str
    note: str = ""
    cancelled_at: datetime | None = None

    def covers(self, check_id: str, customer: str) -> bool:
        """Tell whether this window is about the given check."""
        return customer == self.customer and (not self.checks or check_id in self.checks)

    def contains(self, at: datetime) -> bool:
        """Tell whether a planned event is in force at this time (start inclusive)."""
        return self.cancelled_at is None and self.start <= at < self.end

    @property
    def is_planned_event(self) -> bool:
        """Tell whether it was declared before it started (only then it plans anything)."""
        return self.declared_at <= self.start

    def state(self, now: datetime) -> WindowState:
        """Place the window relative to now."""
        if self.cancelled_at is not None:
            return WindowState.CANCELLED
        if now < self.start:
            return WindowState.SCHEDULED
        if now < self.end:
            return WindowState.ACTIVE
        return WindowState.ENDED


@dataclass(frozen=True, slots=True)
class WindowChange:
    """One line of a window's audit trail: who declared, changed or cancelled it."""

    window_id: str
    at: datetime
    by: str
    action: str
    """`declared`, `changed` or `cancelled`."""
    detail: str = ""
