"""Bearer tokens: who is calling, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from sitewatch.model.principals import Principal


class TokenBook:
    """Map bearer tokens to principals without leaking timing."""

    def __init__(self, entries: Iterable[tuple[str, Principal]]) -> None:
        self._entries = [(token.encode(), principal) for token, principal in entries if token]

    def authenticate(self, header: str | None) -> Principal | None:
        """Return the principal for an `Authorization: Bearer ...` header, or None."""
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = token.strip().encode()
        found = None
        # Compare against every token so the time taken does not tell which matched.
        for candidate, principal in self._entries:
            if hmac.compare_digest(candidate, presented):
                found = principal
        return found
