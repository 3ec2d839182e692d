"""What every connection of the pool is set up with: timeouts, time zone, a name.

The settings travel in libpq's `options` at connection start (no extra round
trip). Anything the URL itself says wins: its `options` are appended after ours
(the last `-c` of a setting counts), and its `application_name`, `connect_timeout`
and keepalive parameters are kept as written.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True, slots=True)
class Timeouts:
    """How long sitewatch waits for the database before it calls it unavailable."""

    connect: timedelta = timedelta(seconds=5)
    """Opening a connection (libpq `connect_timeout`, whole seconds, at least 2)."""
    acquire: timedelta = timedelta(seconds=5)
    """Waiting for a free connection of the pool (or a new one while the server is down)."""
    statement: timedelta = timedelta(seconds=15)
    """One statement on the server (`statement_timeout`)."""
    lock: timedelta = timedelta(seconds=5)
    """Waiting for one lock (`lock_timeout`): a conflict, retried by the caller."""
    idle_in_transaction: timedelta = timedelta(seconds=5)
    """A transaction that stops talking (a paused or stuck process) is ended by the
    server after this (`idle_in_transaction_session_timeout`), freeing its locks.
    Keep it below the cluster lease: a leader paused inside a transaction holds
    the lease row until then."""


APPLICATION_NAME = "sitewatch"

KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
    # A cut network never answers: give up on unacknowledged data after 10 s
    # rather than the kernel's ~15 minutes of retransmissions.
    "tcp_user_timeout": "10000",
}
"""libpq defaults that notice a silent peer (a cut network, a lost host) in seconds."""


def _ms(duration: timedelta) -> int:
    return max(0, math.ceil(duration.total_seconds() * 1000))


def connection_kwargs(url_options: Mapping[str, str], timeouts: Timeouts) -> dict[str, str]:
    """Return the libpq parameters to add to a URL's own (which they never override)."""
    settings = {
        "statement_timeout": _ms(timeouts.statement),
        "lock_timeout": _ms(timeouts.lock),
        "idle_in_transaction_session_timeout": _ms(timeouts.idle_in_transaction),
        "TimeZone": "UTC",
    }
    ours = " ".join(f"-c {name}={value}" for name, value in settings.items())
    theirs = url_options.get("options", "")
    kwargs = {
        "options": f"{ours} {theirs}".strip(),
        "application_name": url_options.get("application_name", APPLICATION_NAME),
        "connect_timeout": url_options.get(
            "connect_timeout", str(max(2, math.ceil(timeouts.connect.total_seconds())))
        ),
    }
    for name, value in KEEPALIVES.items():
        kwargs[name] = url_options.get(name, value)
    return kwargs
