"""Where the next page of a console list starts: an opaque `after` query value.

The same shape as the API's `next` (the desks' `Cursor`), read leniently: a value
that is not one of ours starts the list from the top instead of answering an error.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from sitewatch.storage import Cursor


def encode_cursor(cursor: Cursor) -> str:
    """Return the `after` value of the page after `cursor`."""
    raw = f"{cursor.at.timestamp():.6f}|{cursor.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(raw: str | None) -> Cursor | None:
    """Read an `after` value; None (the first page) when there is none or it is not ours."""
    if not raw or len(raw) > 200 or not raw.isascii():
        return None
    try:
        text = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        stamp, _, item = text.partition("|")
        at = datetime.fromtimestamp(float(stamp), UTC)
    except (ValueError, OverflowError, OSError, binascii.Error, UnicodeDecodeError):
        return None
    if not item or not item.isprintable():
        return None
    return Cursor(at, item)
