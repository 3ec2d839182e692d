"""Turn driver errors into the store's errors: unavailable, conflict, or a bug.

The services retry a `StoreConflictError` at once (the transaction lost a race)
and a `StoreUnavailableError` later (the database is down, restarting, cut off or
too slow). Everything else is a bug in sitewatch or its schema and goes up as it
is: nothing is swallowed. Messages name the database by its redacted URL and are
redacted again, since libpq may quote a malformed connection string.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import psycopg_pool

from sitewatch.model.redaction import redact
from sitewatch.storage.protocols import StoreConflictError, StoreError, StoreUnavailableError

CONFLICT_STATES = frozenset({"40001", "40P01", "55P03"})
"""serialization_failure, deadlock_detected, lock_not_available (lock_timeout)."""

UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
"""Connection exceptions, insufficient resources, operator intervention (admin
shutdown, `pg_terminate_backend`, crash, starting up, statement_timeout), system
errors: the server, not the transaction, is the problem."""

UNAVAILABLE_STATES = frozenset({"25P03"})
"""idle_in_transaction_session_timeout: the server closed a stalled session."""


def classify(error: BaseException) -> type[StoreError] | None:
    """Return the store error a driver error means, or None if it is a bug."""
    if isinstance(error, psycopg_pool.PoolTimeout | psycopg_pool.PoolClosed):
        return StoreUnavailableError
    if not isinstance(error, psycopg.Error):
        return None
    state = error.sqlstate
    if state in CONFLICT_STATES:
        return StoreConflictError
    if state is None:
        # libpq's own errors carry no SQLSTATE: the connection failed or was lost.
        return StoreUnavailableError if isinstance(error, psycopg.OperationalError) else None
    if state[:2] in UNAVAILABLE_CLASSES or state in UNAVAILABLE_STATES:
        return StoreUnavailableError
    return None


@contextmanager
def translated(
    database: str, secrets: frozenset[str], broken: Callable[[], bool] | None = None
) -> Iterator[None]:
    """Re-raise driver errors inside the block as store errors naming `database`.

    When `broken()` tells, after the error, that the connection was lost, any driver
    error counts as unavailable, whatever it says.
    """
    try:
        yield
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        kind = classify(error)
        if kind is None and broken is not None and broken():
            kind = StoreUnavailableError
        if kind is None:
            raise
        raise store_error(kind, database, secrets, error) from _cause(error, secrets)


def store_error(
    kind: type[StoreError], database: str, secrets: frozenset[str], error: BaseException
) -> StoreError:
    """Return a store error of `kind` that says what went wrong, never a secret."""
    reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    state = getattr(error, "sqlstate", None)
    code = f" [SQLSTATE {state}]" if state else ""
    return kind(redact(f"{database}: {reason}{code}", secrets))


def _cause(error: BaseException, secrets: frozenset[str]) -> BaseException | None:
    """Keep the driver error as the cause unless its text shows a secret."""
    text = str(error)
    return error if redact(text, secrets) == text else None
