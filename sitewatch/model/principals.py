"""Who acts: operators and customers, as their bearer tokens or sessions name them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a principal may do."""

    OPERATOR = "operator"
    """Sees and does everything."""
    CUSTOMER = "customer"
    """Sees its own checks and manages its own maintenance windows."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone acting through the API or the console."""

    role: Role
    id: str

    def may_act_for(self, customer: str) -> bool:
        """Tell whether this principal may see or change this customer's data."""
        return self.role is Role.OPERATOR or self.id == customer

    @property
    def label(self) -> str:
        """Name the principal in audit trails: `operator:alice`, `customer:acme`."""
        return f"{self.role.value}:{self.id}"
