"""Bearer tokens: who is calling, compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a token's holder may do."""

    OPERATOR = "operator"
    """Sees and does everything."""
    CUSTOMER = "customer"
    """Sees its own checks and manages its own maintenance windows."""


@dataclass(frozen=True, slots=True)
class Principal:
    """The holder of a valid token."""

    role: Role
    id: str

    def may_act_for(self, customer: str) -> bool:
        """Tell whether this principal may see or change this customer's data."""
        return self.role is Role.OPERATOR or self.id == customer

    @property
    def label(self) -> str:
        """Name the principal in audit trails: `operator:alice`, `customer:acme`."""
        return f"{self.role.value}:{self.id}"


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
