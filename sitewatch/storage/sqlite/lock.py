"""One `sitewatch run` per SQLite file: an exclusive lock on a file beside the database.

SQLite has one writer and sitewatch's leader, sharding and claims assume that a
SQLite database has one instance; a second one would page twice. The lock is an
`flock` on `<database>.lock`: the kernel releases it when the process ends, however
it ends (kill -9 included), so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class InstanceLockedError(Exception):
    """Another sitewatch instance runs on this SQLite database."""


class InstanceLock:
    """Hold the lock for as long as this object lives (or until `release`)."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "unknown"
            self.release()
            raise InstanceLockedError(
                f"another sitewatch (pid {holder}) is running on {database}: a SQLite database "
                "serves one instance. Stop that one first, or run several instances on a "
                "shared PostgreSQL database (database: postgresql://...; see "
                "docs/cluster.md)."
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        """Let another instance start on this database."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
