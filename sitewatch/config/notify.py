"""Notification URLs in the config: each must be one Apprise can use.

A URL Apprise cannot load would page nobody, so it is a start-up error. Apprise's own
messages are silenced while it parses: they repeat the URL, credentials included."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import apprise

_APPRISE_LOGGER = logging.getLogger("apprise")


_NOTIFY_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")


def validate_notify_url(url: str) -> str | None:
    """Return why `url` cannot be an Apprise notification URL, or None if it can.

    First the shape (`scheme://something`, no spaces), then Apprise itself: a URL
    Apprise cannot load (unknown scheme, missing parts) would page nobody, so it is
    a start-up error, never a silent skip. The message never repeats the URL:
    notification URLs carry credentials.
    """
    if not _NOTIFY_URL.match(url):
        return "expected an Apprise URL such as mailto://user@example.com or json://host:port/path"
    if apprise_rejects(url):
        return (
            "Apprise cannot use this URL (an unknown service or a missing part); see "
            "https://github.com/caronc/apprise/wiki for the form of each service"
        )
    return None


def apprise_rejects(url: str) -> bool:
    """Tell whether Apprise refuses this URL (unknown scheme, missing parts).

    Apprise's messages are silenced meanwhile: its "Unparseable URL" error repeats
    the URL, credentials included.
    """
    with silent_apprise():
        return not apprise.Apprise().add(url)


@contextmanager
def silent_apprise() -> Iterator[None]:
    def drop(record: logging.LogRecord) -> bool:
        return False

    _APPRISE_LOGGER.addFilter(drop)
    try:
        yield
    finally:
        _APPRISE_LOGGER.removeFilter(drop)
