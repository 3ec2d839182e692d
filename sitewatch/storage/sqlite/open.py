"""Open a SQLite store from a parsed `database:` URL (the entry in `storage.BACKENDS`)."""

from __future__ import annotations

from sitewatch.storage.sqlite.store import SqliteStore, open_sqlite_store
from sitewatch.storage.urls import DatabaseUrl


async def open_url(url: DatabaseUrl) -> SqliteStore:
    """Open the file a `sqlite:` URL names, with its `synchronous` option."""
    assert url.path is not None, "a sqlite URL always names a file"
    return await open_sqlite_store(url.path, synchronous=url.options.get("synchronous", "normal"))
