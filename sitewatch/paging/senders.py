"""Sender threads: a fixed number of daemon threads that run blocking sends.

Apprise's plugins send with blocking I/O (requests, smtplib), so each send needs a
thread. A send that hangs cannot be stopped, only abandoned; bounding the threads
bounds what hung channels can hold (a queued send waits, and its caller's timeout
still runs). The threads are daemons, unlike `ThreadPoolExecutor`'s, which the
interpreter joins at exit: a channel that hangs must not hold up a shutdown. A
send cut off by the exit is like one cut off by kill -9: not recorded, so sent
again after the restart.
"""

from __future__ import annotations

import concurrent.futures as cf
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple["cf.Future[Any]", Callable[[], Any]]


class SenderThreads:
    """Run callables on at most `size` daemon threads, one started per call until `size`."""

    def __init__(self, size: int, *, name: str = "sitewatch-sender") -> None:
        if size < 1:
            raise ValueError(f"sender threads: need at least 1, got {size}")
        self._size = size
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"SenderThreads({len(self._threads)} of {self._size} started)"

    @property
    def size(self) -> int:
        """The most threads this runs on."""
        return self._size

    def submit(self, call: Callable[[], T]) -> cf.Future[T]:
        """Queue `call`; its future holds what it returned or raised."""
        future: cf.Future[T] = cf.Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the sender threads are closed")
            self._jobs.put((future, call))
            if len(self._threads) < self._size:
                self._start_thread()
        return future

    def close(self) -> None:
        """Cancel what is still queued; each thread ends after the send it is running."""
        with self._lock:
            self._closed = True
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    job[0].cancel()
            for _ in self._threads:
                self._jobs.put(None)

    def _start_thread(self) -> None:
        thread = threading.Thread(
            target=self._work, name=f"{self._name}-{len(self._threads) + 1}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            future, call = job
            # A job whose caller gave up before it started is dropped unsent.
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as error:
                # Everything a send raises goes to its caller, even a SystemExit
                # from a plugin: a sender thread outlives every send.
                future.set_exception(error)
