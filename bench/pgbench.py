"""A fresh PostgreSQL database per benchmark run, made on the server `--database` names.

With no URL the run uses its SQLite file and this yields an empty string.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count
from urllib.parse import urlsplit, urlunsplit

_runs = count(1)


@contextmanager
def fresh_database(admin_url: str) -> Iterator[str]:
    """Create a database for one run on the server of `admin_url`; drop it afterwards."""
    if not admin_url:
        yield ""
        return
    import psycopg

    name = f"sitewatch_bench_{os.getpid()}_{next(_runs)}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
