"""The `database:` URL: which backend, where, with which options. One parser for all.

`sqlite:///relative/path.db` is relative to the config file's directory,
`sqlite:////absolute/path.db` is absolute; `?synchronous=full` fsyncs every commit.
`postgresql://user:password@host:port/dbname?sslmode=require&...` takes the libpq
connection parameters as they are. The password never appears in `redacted`, in
errors or in logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

SQLITE_OPTIONS = {"synchronous": ("normal", "full")}
"""Query parameters a sqlite URL takes, with their allowed values."""

POSTGRES_OPTIONS = frozenset(
    {
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
        "sslcrl",
        "connect_timeout",
        "application_name",
        "target_session_attrs",
        "options",
        "keepalives",
        "keepalives_idle",
        "keepalives_interval",
        "keepalives_count",
        "tcp_user_timeout",
        "gssencmode",
        "channel_binding",
        "host",
        "hostaddr",
        "port",
        "dbname",
        "user",
        "passfile",
        "service",
    }
)
"""libpq parameters accepted in a postgresql URL's query (anything else is a typo)."""


@dataclass(frozen=True, slots=True)
class DatabaseUrl:
    """A parsed `database:` URL."""

    scheme: str
    """`sqlite` or `postgresql`."""
    url: str = field(repr=False)
    """The URL as written (with its password): hand it only to the driver."""
    path: Path | None = None
    """The SQLite file, resolved against the config's directory."""
    options: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def redacted(self) -> str:
        """Return the URL with its password replaced by `***`, fit for logs."""
        return redact_url(self.url)


def parse_database_url(url: str, base: Path) -> DatabaseUrl:
    """Parse a `database:` URL; raise ValueError saying what is wrong (never the password)."""
    scheme, colon, _ = url.partition(":")
    if scheme == "sqlite" and colon:
        return _sqlite(url, base)
    if scheme in ("postgresql", "postgres") and colon:
        return _postgres(url)
    raise ValueError(
        f"{redact_url(url)!r} is not a database URL sitewatch knows: use "
        "sqlite:///relative/path.db, sqlite:////absolute/path.db or "
        "postgresql://user:password@host:port/dbname"
    )


def _sqlite(url: str, base: Path) -> DatabaseUrl:
    prefix = "sqlite:///"
    location, _, query = url.removeprefix(prefix).partition("?")
    if not url.startswith(prefix) or not location.strip("/"):
        raise ValueError(
            f"{url!r}: expected sqlite:///relative/path.db or sqlite:////absolute/path.db"
        )
    options = dict(parse_qsl(query, keep_blank_values=True))
    for key, value in options.items():
        allowed = SQLITE_OPTIONS.get(key)
        if allowed is None:
            known = ", ".join(sorted(SQLITE_OPTIONS))
            raise ValueError(f"{url!r}: unknown option {key!r}; a sqlite URL takes {known}")
        if value.lower() not in allowed:
            raise ValueError(f"{url!r}: {key} must be one of {', '.join(allowed)}, not {value!r}")
        options[key] = value.lower()
    return DatabaseUrl("sqlite", url, (base / unquote(location)).resolve(), options)


def _postgres(url: str) -> DatabaseUrl:
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port validates it
    except ValueError as problem:
        raise ValueError(f"{shown!r}: {problem}") from None
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - POSTGRES_OPTIONS)
    if unknown:
        raise ValueError(
            f"{shown!r}: unknown connection parameter {unknown[0]!r}; see the libpq "
            "parameter keywords (sslmode, connect_timeout, application_name, ...)"
        )
    if not parts.path.strip("/") and "dbname" not in options:
        raise ValueError(f"{shown!r}: name the database, as in postgresql://host/dbname")
    return DatabaseUrl("postgresql", url, None, options)


def redact_url(url: str) -> str:
    """Return `url` with the password of its user part (if any) replaced by `***`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<a database URL that cannot be parsed>"
    if not password:
        return url
    user = quote(parts.username or "", safe="")
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
