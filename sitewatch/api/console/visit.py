"""A visit: one request of a logged-on browser, as the console's handlers see it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sitewatch.api.console.sessions import Session
from sitewatch.model import Principal, Role


@dataclass(frozen=True, slots=True)
class Visit:
    """Who is asking, the session's CSRF token, now, and what it posted."""

    session: Session
    csrf: str
    now: datetime
    form: Mapping[str, list[str]] = field(default_factory=dict)

    @property
    def who(self) -> Principal:
        """The principal the session names."""
        return self.session.principal

    @property
    def is_operator(self) -> bool:
        """Tell whether the visitor is an operator (sees every customer)."""
        return self.who.role is Role.OPERATOR

    def value(self, name: str) -> str:
        """Return the first posted value of a field, or ''."""
        found = self.form.get(name)
        return found[0] if found else ""

    def values(self, name: str) -> list[str]:
        """Return every posted value of a field (checkboxes)."""
        return list(self.form.get(name, []))
