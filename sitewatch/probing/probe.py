"""Probe types: a small protocol and a registry; a new type is one module and one line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol

import aiohttp

from sitewatch.clock import Clock
from sitewatch.model import CheckSpec, ProbeResult
from sitewatch.probing.http import HttpLogonProbe


class Probe(Protocol):
    """Run a check once; expected failures come back as a result, never raised."""

    async def run(self, check: CheckSpec) -> ProbeResult:
        """Probe the check's site once and return the outcome, already redacted."""
        ...

    async def close(self) -> None:
        """Release what the probe owns (not the shared connector)."""
        ...


class ProbeFactory(Protocol):
    """Build a probe from the collaborators the composition root shares."""

    def __call__(self, connector: aiohttp.BaseConnector | None, clock: Clock) -> Probe: ...


PROBES: Final[Mapping[str, ProbeFactory]] = {
    "http": HttpLogonProbe,
}
"""Probe type name -> factory."""
