"""Where a step with `follow_redirects: true` goes next, decided without any I/O.

The probe follows redirects itself rather than let aiohttp do it, because aiohttp
re-sends a step's body and headers to wherever a 307 or 308 points, another host
included: credentials would follow a redirect to a site's attacker. Here they go
only to the origin the step named (or its https:// upgrade); and a redirect never
reaches sitewatch's own listen address, nor a URL that is not http:// or https://.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, replace

from yarl import URL

from sitewatch.model import Method
from sitewatch.probing.request import Request

MAX_REDIRECTS = 10
"""Redirects one step follows at most."""
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_LOCAL = "local"
"""The key of every name and address that means this machine."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A redirect the probe will not follow, and why."""

    reason: str


class ForbiddenAddresses:
    """The host:port pairs no redirect may lead to (sitewatch's own listen address).

    Addresses are compared as written in the URL, after normalising: every loopback
    or unspecified address and `localhost` mean this machine, and IPv4 written the
    legacy ways (`127.1`, `2130706433`) means what the resolver makes of it. A DNS
    name that merely resolves to a forbidden address is not caught here.
    """

    def __init__(self, addresses: Iterable[tuple[str, int]] = ()) -> None:
        self._keys = frozenset((_host_key(host), port) for host, port in addresses)

    def __bool__(self) -> bool:
        return bool(self._keys)

    def forbid(self, url: URL) -> bool:
        """Tell whether `url` points at a forbidden address."""
        if not self._keys or url.host is None or url.port is None:
            return False
        return (_host_key(url.host), url.port) in self._keys


def follow(
    request: Request,
    origin: URL,
    status: int,
    location: str | None,
    forbidden: ForbiddenAddresses,
) -> Request | Refusal | None:
    """Return the request a redirect leads to, a refusal, or None when it is no redirect.

    `origin` is the URL the step itself requested: the step's body and headers go only
    where it could have sent them itself.
    """
    if status not in REDIRECT_STATUSES or location is None:
        return None
    try:
        target = request.url.join(URL(location))
        target.raw_host  # noqa: B018 - an impossible host name raises here, not later
    except ValueError as error:  # UnicodeError included: a host IDNA cannot encode
        return Refusal(f"redirect to a URL that cannot be requested ({type(error).__name__})")
    if target.scheme not in ("http", "https") or not target.raw_host:
        return Refusal(f"redirect to a URL that is not http:// or https:// ({target.scheme}:)")
    if forbidden.forbid(target):
        return Refusal(f"redirect to sitewatch's own address {target.host}:{target.port} refused")
    next_request = replace(request, url=target)
    if status == 303 or (status in (301, 302) and request.method is Method.POST):
        # What browsers do: the next request is a GET, without the body.
        next_request = replace(next_request, method=Method.GET, form=None, json=None)
    if not _same_site(origin, target):
        next_request = next_request.without_credentials()
    return next_request


def _same_site(origin: URL, target: URL) -> bool:
    """Tell whether credentials meant for `origin` may go to `target`.

    The same scheme, host and port (an origin, as browsers have it), or the same host
    moving from http:// to https:// on the default ports: a site upgrading itself.
    """
    if _host_name(origin.host or "") != _host_name(target.host or ""):
        return False
    if (origin.scheme, origin.port) == (target.scheme, target.port):
        return True
    return (origin.scheme, origin.port, target.scheme, target.port) == ("http", 80, "https", 443)


def _host_key(host: str) -> str:
    """Return a host as `ForbiddenAddresses` compares it: this machine is one key."""
    name = _host_name(host)
    if name == "localhost" or name.endswith(".localhost"):
        return _LOCAL
    address = _ip_address(name)
    if address is None:
        return name
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_unspecified:
        return _LOCAL
    return address.compressed


def _host_name(host: str) -> str:
    """Return a host in one spelling: lower case, no brackets or final dot, IPs canonical."""
    name = host.strip("[]").rstrip(".").lower()
    address = _ip_address(name)
    return name if address is None else address.compressed


def _ip_address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        pass
    if not name or not all(c in "0123456789abcdefx." for c in name):
        return None
    try:
        # The resolver reads `127.1`, `0x7f.1` and `2130706433` as 127.0.0.1 too.
        return ipaddress.IPv4Address(socket.inet_aton(name))
    except OSError:
        return None
