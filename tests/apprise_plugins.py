"""Channels of our own for the paging tests, plugged into real Apprise.

They are Apprise plugins registered the way Apprise documents for custom services
(`apprise.decorators.notify`), so a send goes through all of Apprise's own
machinery and only the last step, the plugin's `send`, is ours: one that waits
until the test lets it go, one that raises as a buggy plugin would.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import apprise
from apprise.manager_plugins import NotificationManager

Send = Callable[..., bool]


@contextlib.contextmanager
def registered(schema: str, send: Send) -> Iterator[str]:
    """Make `schema://` an Apprise service calling `send`; return its URL; unregister after."""
    apprise.decorators.notify(on=schema)(send)
    try:
        yield f"{schema}://"
    finally:
        NotificationManager().remove(schema)


@dataclass
class HeldChannel:
    """A channel whose sends wait until `release` is set, counting who waits and where."""

    release: threading.Event = field(default_factory=threading.Event)
    threads: list[str] = field(default_factory=list)
    """The name of the thread of every send that reached the channel, in order."""
    bodies: list[str] = field(default_factory=list)
    waiting: int = 0
    most_waiting: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
        """Record the send, then hold it until released (at most a minute)."""
        with self._lock:
            self.threads.append(threading.current_thread().name)
            self.bodies.append(body)
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
        try:
            return self.release.wait(timeout=60)
        finally:
            with self._lock:
                self.waiting -= 1


class PluginBug(BaseException):
    """What a broken plugin may raise: not even an `Exception`, so Apprise lets it through."""


def raising(error: BaseException) -> Send:
    """Return a plugin `send` that raises `error`."""

    def send(body: str, title: str, notify_type: str, *args: Any, **kwargs: Any) -> bool:
        raise error

    return send
