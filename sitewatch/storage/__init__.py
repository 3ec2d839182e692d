"""Storage: the `Store` protocol and its backends, which store and load and decide nothing.

`protocols` is the interface (a unit of work over aggregate repositories); `urls`
parses the `database:` URL; `open_store` opens the backend it names. A new backend
is one package and one line in `BACKENDS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable

from sitewatch.storage.protocols import (
    FencedError,
    Store,
    StoreConflictError,
    StoreError,
    StoreUnavailableError,
    Tx,
)
from sitewatch.storage.repositories import Cursor
from sitewatch.storage.urls import DatabaseUrl, parse_database_url

__all__ = [
    "BACKENDS",
    "Cursor",
    "DatabaseUrl",
    "FencedError",
    "Store",
    "StoreConflictError",
    "StoreError",
    "StoreUnavailableError",
    "Tx",
    "open_store",
    "parse_database_url",
]

Opener = Callable[[DatabaseUrl], Awaitable[Store]]

BACKENDS: dict[str, str] = {
    "sqlite": "sitewatch.storage.sqlite.open:open_url",
    "postgresql": "sitewatch.storage.postgres:open_postgres_store",
}
"""Backends by URL scheme, as `module:opener`, imported only when used."""


async def open_store(url: DatabaseUrl) -> Store:
    """Open the store a parsed `database:` URL names."""
    module, _, name = BACKENDS[url.scheme].partition(":")
    opener: Opener = getattr(importlib.import_module(module), name)
    return await opener(url)
