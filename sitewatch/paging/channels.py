"""Where pages go: each operator's notify URLs and the fallback URLs, by index.

Outbox rows store `(operator, url_index)` only; the URLs carry credentials and are
looked up here, from the config, when a page is sent."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sitewatch.model.pages import FALLBACK, WEBHOOK, Target


class Channels:
    """Where pages go: each operator's notify URLs and the fallback URLs, by index.

    Built from the config at start-up. Rows store `(operator, url_index)` only: the
    URLs carry credentials and are looked up here when a page is sent.
    """

    def __init__(
        self,
        operators: Mapping[str, Sequence[str]],
        fallback: Sequence[str],
        webhooks: Sequence[str] = (),
    ) -> None:
        self._operators = {operator: tuple(urls) for operator, urls in operators.items()}
        self._fallback = tuple(fallback)
        self._operators[WEBHOOK] = tuple(webhooks)

    def __repr__(self) -> str:
        return f"Channels({len(self._operators)} operators, {len(self._fallback)} fallback)"

    def targets(self, operator: str) -> list[Target]:
        """Return every notify target of an operator (none if it is not configured)."""
        return [Target(operator, i) for i in range(len(self._operators.get(operator, ())))]

    def webhook_targets(self) -> list[Target]:
        """Return every ticket webhook target."""
        return self.targets(WEBHOOK)

    def fallback_targets(self) -> list[Target]:
        """Return every fallback target."""
        return [Target(FALLBACK, i) for i in range(len(self._fallback))]

    def url(self, target: Target) -> str | None:
        """Return the URL of a target, or None if the config no longer has it."""
        urls = (
            self._fallback if target.operator == FALLBACK else self._operators.get(target.operator)
        )
        if urls is None or not 0 <= target.url_index < len(urls):
            return None
        return urls[target.url_index]
