"""Sender threads: a fixed number of daemon threads for blocking sends."""

from __future__ import annotations

import threading

import pytest

from sitewatch.paging.senders import SenderThreads
from tests.paging_support import poll


def threads_named(prefix: str) -> list[threading.Thread]:
    """Return the live threads whose names start with `prefix`."""
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


async def test_closing_cancels_what_is_queued_and_lets_each_thread_end_after_its_send() -> None:
    senders = SenderThreads(1, name="closing-test")
    release = threading.Event()
    running = senders.submit(lambda: release.wait(10))
    queued = senders.submit(lambda: "never runs")
    await poll(running.running, "the first call to start")

    senders.close()
    release.set()

    assert running.result(timeout=10) is True
    assert queued.cancelled()
    await poll(lambda: not threads_named("closing-test"), "the thread to end")
    with pytest.raises(RuntimeError, match="closed"):
        senders.submit(lambda: None)


def exit_at_once() -> None:
    """Do what a badly written plugin might: exit."""
    raise SystemExit(3)


def test_what_a_call_raises_even_a_base_exception_goes_to_its_future() -> None:
    senders = SenderThreads(1, name="raising-test")
    try:
        failed = senders.submit(exit_at_once)
        after = senders.submit(lambda: "the thread lives on")

        assert isinstance(failed.exception(timeout=10), SystemExit)
        assert after.result(timeout=10) == "the thread lives on"
        assert [t.daemon for t in threads_named("raising-test")] == [True]
    finally:
        senders.close()
