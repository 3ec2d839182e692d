"""The event loop `sitewatch run` runs on: uvloop when it is installed, else asyncio's.

uvloop (`pip install 'sitewatch[fast]'`) is a drop-in event loop on libuv; the
benchmark (bench/README.md) measures what it saves per probe. `$SITEWATCH_EVENT_LOOP`
chooses: `auto` (the default: uvloop if installed), `asyncio` or `uvloop` (an error
when it is not installed, rather than a silent fallback the operator did not ask for).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping

ENV = "SITEWATCH_EVENT_LOOP"
CHOICES = ("auto", "asyncio", "uvloop")


class EventLoopError(ValueError):
    """The event loop asked for cannot be had."""


def new_event_loop(environ: Mapping[str, str]) -> tuple[asyncio.AbstractEventLoop, str]:
    """Return a new event loop as `$SITEWATCH_EVENT_LOOP` asks, and words naming it."""
    choice = environ.get(ENV, "").strip().lower() or "auto"
    if choice not in CHOICES:
        raise EventLoopError(f"${ENV}={choice!r}: use one of {', '.join(CHOICES)}")
    if choice != "asyncio":
        try:
            uvloop = importlib.import_module("uvloop")
        except ImportError:
            if choice == "uvloop":
                raise EventLoopError(
                    f"${ENV}=uvloop but uvloop is not installed: pip install 'sitewatch[fast]'"
                ) from None
        else:
            loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
            return loop, f"uvloop {uvloop.__version__}"
    note = " (uvloop not installed)" if choice == "auto" else ""
    return asyncio.new_event_loop(), f"asyncio{note}"
