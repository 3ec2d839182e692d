"""A response body as a probe reads it: at most 1 MiB, decoded as a browser would.

Sites declare charsets Python has no codec for (`x-unknown`), ones it has but that
no web page uses (`idna`, which refuses to decode leniently and raised out of the
probe; `punycode`, quadratic in pure Python), and send bytes invalid in the charset
they declare. Only the charsets browsers know are decoded; bytes invalid in them are
replaced, as a browser shows them. Whether an unreadable body fails the step is for
the verdict to say: only a step that looks into the body needs it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from functools import lru_cache

import aiohttp

BODY_LIMIT = 1024 * 1024
"""A probe reads at most this many bytes of any body (contract: 1 MiB)."""

_DEFAULT_CHARSET = "utf-8"
_WEB_CODECS = frozenset(
    {"utf-8", "utf-16-le", "utf-16-be", "cp866", "koi8-r", "koi8-u"}
    | {"mac-roman", "mac-cyrillic", "cp874", "tis-620", "gbk", "gb2312", "gb18030"}
    | {"big5", "big5hkscs", "euc_jp", "iso2022_jp", "shift_jis", "cp932", "euc_kr"}
    | {"cp949", *(f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16))}
    | {f"cp{n}" for n in range(1250, 1259)}
)
"""Python codecs for the encodings of the WHATWG Encoding Standard: what browsers read."""
_WEB_LABELS = {
    # Labels browsers know under names Python does not.
    "windows-874": "cp874",
    "x-mac-cyrillic": "mac-cyrillic",
    "iso-8859-8-i": "iso8859-8",
    "windows-31j": "cp932",
    "x-sjis": "shift_jis",
    "x-gbk": "gbk",
}
_AS_BROWSERS_READ = {"ascii": "cp1252", "iso8859-1": "cp1252", "utf-16": "utf-16-le"}
"""Browsers read ASCII and Latin-1 as windows-1252, and UTF-16 as UTF-16LE (WHATWG).

(Python's own `utf-16` also refuses a body without a byte order mark.)"""
_MAX_LABEL = 40


@dataclass(frozen=True, slots=True)
class Body:
    """What a probe read of a body, and the text it made of it."""

    text: str
    """The decoded text; empty when the body could not be read as text."""
    size: int
    """Bytes read (at most the limit)."""
    truncated: bool = False
    """Whether the body went on beyond the bytes read."""
    unreadable: str | None = None
    """Why the body could not be decoded, if it could not."""
    note: str | None = None
    """Something worth telling about a body that could be read (bytes replaced)."""


async def read_body(
    stream: aiohttp.StreamReader, charset: str | None, limit: int = BODY_LIMIT
) -> Body:
    """Read at most `limit` bytes of a body and decode them in the declared charset."""
    first = await stream.read(limit)
    if stream.at_eof() or not first:
        # The whole body came in one read (most pages): no copy into a buffer.
        return decode(first, charset)
    raw = bytearray(first)
    while len(raw) < limit:
        chunk = await stream.read(limit - len(raw))
        if not chunk:
            break
        raw += chunk
    truncated = len(raw) >= limit and not stream.at_eof()
    return decode(bytes(raw), charset, truncated=truncated)


def decode(raw: bytes, charset: str | None, *, truncated: bool = False) -> Body:
    """Decode a body in `charset` (UTF-8 when none is declared), never raising.

    A `truncated` body may end inside a character: that part is left out, not
    mistaken for an invalid byte.
    """
    codec, problem = _codec(charset)
    if codec is None:
        return Body("", len(raw), truncated, unreadable=problem)
    try:
        if not truncated:
            return Body(raw.decode(codec), len(raw))
        text = codecs.getincrementaldecoder(codec)().decode(raw, final=False)
        return Body(text, len(raw), truncated)
    except UnicodeDecodeError as error:
        # As a browser does: each invalid byte shows as U+FFFD, the rest reads as usual.
        text = codecs.getincrementaldecoder(codec)("replace").decode(raw, final=not truncated)
        note = f"bytes not valid in {codec} from byte {error.start} on were replaced"
        return Body(text, len(raw), truncated, note=note)


@lru_cache(maxsize=128)
def _codec(charset: str | None) -> tuple[str | None, str | None]:
    """Return the codec to decode a declared charset with, or why there is none."""
    label = (charset or "").strip().strip("\"'").lower() or _DEFAULT_CHARSET
    if len(label) > _MAX_LABEL or not (label.isascii() and label.isprintable()):
        return None, "the declared charset is not a charset name"
    label = _WEB_LABELS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None, f"unknown charset {label!r}"
    name = _AS_BROWSERS_READ.get(name, name)
    if name not in _WEB_CODECS:
        return None, f"charset {label!r} is not one web pages are written in"
    return name, None
