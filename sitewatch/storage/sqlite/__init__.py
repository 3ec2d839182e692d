"""The SQLite backend: one file, one instance, every transaction on one writer thread.

`open_sqlite_store` opens (creating and migrating) a database; `InstanceLock` keeps
a second `sitewatch run` off the same file. The SQL lives beside the repositories it
serves: `checks`, `tickets`, `windows`, `outbox`, `cluster`; `codec` converts rows.
"""

from sitewatch.storage.sqlite.lock import InstanceLock, InstanceLockedError
from sitewatch.storage.sqlite.store import SqliteStore, open_sqlite_store

__all__ = ["InstanceLock", "InstanceLockedError", "SqliteStore", "open_sqlite_store"]
