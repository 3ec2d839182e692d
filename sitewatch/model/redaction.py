"""Keep secrets out of everything sitewatch shows: probe details, pages, logs.

A secret is any value taken from the environment, every API token and every notify
URL (`Settings.secrets`, `CheckSpec.secrets`). `redact` hides each of them wherever
it appears, in every spelling a site may echo it in: plain, percent-encoded (`%41`,
`%c3%a9`, `+` for a space, twice encoded as `%2541`), as HTML character references
(`&amp;`, `&#65;`, `&#x41;`, with leading zeros or without `;`) or JSON escapes
(`\\u0041`, `\\/`, `\\"`), one spelling per character, mixed at will. `SecretsFilter`
applies the same to log records of a library we do not control (Apprise).

How: rather than a regex per secret (compiled per check, so on every probe), the
text is decoded once into a plain *view* that remembers where each of its characters
came from; the secrets are looked up in the text, in that view and in the view of the
view (twice-encoded text) with `str.find`, and every hit is masked in the original.
The only regex here is a fixed tokenizer whose quantifiers are all bounded and whose
alternatives each start with their own character: a constant amount of work per
position, so linear in the text whatever a site sends.
"""

from __future__ import annotations

import bisect
import html
import itertools
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

MASK = "***"

_HEX = "[0-9A-Fa-f]"
_CONTINUATION = f"%[89ABab]{_HEX}"
_TOKEN = re.compile(
    # One character percent-encoded as UTF-8: one to four `%XX` bytes.
    f"%[0-7]{_HEX}"
    f"|%[C-Dc-d]{_HEX}{_CONTINUATION}"
    f"|%[Ee]{_HEX}(?:{_CONTINUATION}){{2}}"
    f"|%[Ff][0-7](?:{_CONTINUATION}){{3}}"
    # HTML character references, decimal, hex or named; browsers accept them without `;`.
    "|&#[0-9]{1,32};?"
    f"|&#[Xx]{_HEX}{{1,32}};?"
    "|&[A-Za-z][A-Za-z0-9]{0,31};?"
    # JSON (and JavaScript) escapes; a character beyond the BMP is a surrogate pair.
    f"|\\\\u[Dd][89ABab]{_HEX}{{2}}\\\\u[Dd][C-Fc-f]{_HEX}{{2}}"
    f"|\\\\u{_HEX}{{4}}"
    f"|\\\\x{_HEX}{{2}}"
    "|\\\\[/\"'\\\\bfnrt]"
    # A space in a form-encoded value.
    "|\\+"
)
_MAX_SPELLING = 48
"""Chars one character of a secret may take in the text (`&amp;#x` + 32 hex digits ...)."""
_MARKS = "%&\\"
_JSON_ESCAPES = {"/": "/", '"': '"', "'": "'", "\\": "\\", "b": "\b", "f": "\f"}
_JSON_ESCAPES |= {"n": "\n", "r": "\r", "t": "\t"}


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text` with `***`, in any spelling a site may echo it.

    The whole text is searched, fixed wording included: a secret that is also an
    ordinary word is hidden wherever the word appears, which errs on the safe side.
    """
    present = frozenset(s for s in secrets if s)
    if _plainly_absent(text, present):
        return text
    return _mask(text, _secret_spans(text, present))


def redact_head(text: str, limit: int, secrets: frozenset[str]) -> str:
    """Return about `limit` leading chars of `text`, redacted, never half a secret."""
    present = frozenset(s for s in secrets if s)
    if not present:
        return text[:limit]
    # Any spelling of a secret that starts before `limit` ends before `reach`.
    head = text[: limit + _MAX_SPELLING * max(map(len, present))]
    spans = _secret_spans(head, present) if not _plainly_absent(head, present) else []
    cut = limit
    for start, end in spans:
        if start < cut < end:
            cut = end  # take the straddling secret whole, to hide it whole
    return _mask(head[:cut], [(start, min(end, cut)) for start, end in spans if start < cut])


def _plainly_absent(text: str, secrets: frozenset[str]) -> bool:
    """Tell cheaply that no secret can be in `text`, in any spelling `redact` knows.

    Every encoded spelling needs a `%`, `&` or `\\` (or `+` for a space), so text
    without those and without a plain occurrence needs no decoding. This is the
    probe's hot path: every probe's details pass through here (bench/README.md).
    """
    if not secrets:
        return True
    if any(mark in text for mark in _MARKS):
        return False
    if "+" in text and any(" " in secret for secret in secrets):
        return False
    return not any(secret in text for secret in secrets)


def _secret_spans(text: str, secrets: frozenset[str]) -> list[tuple[int, int]]:
    """Return where in `text` a secret is spelled, plainly or encoded, in any order."""
    spans = [span for secret in secrets for span in _occurrences(text, secret)]
    if not any(mark in text for mark in (*_MARKS, "+")):
        return spans
    # In the views a "+" counts as a space (see `_View`), in the secrets too.
    needles = {secret.replace("+", " ") for secret in secrets}
    once = _View.decode(text)
    spans += [once.source_span(span) for n in needles for span in _occurrences(once.text, n)]
    if any(mark in once.text for mark in _MARKS):
        twice = _View.decode(once.text)
        spans += [
            once.source_span(twice.source_span(span))
            for n in needles
            for span in _occurrences(twice.text, n)
        ]
    return spans


def _occurrences(haystack: str, needle: str) -> Iterator[tuple[int, int]]:
    # Not overlapping: an occurrence overlapping a masked one loses a character to the
    # mask, so it cannot be read whole either.
    start = haystack.find(needle)
    while start >= 0:
        yield start, start + len(needle)
        start = haystack.find(needle, start + len(needle))


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    """Replace each span of `text` (merged where they overlap) with the mask."""
    if not spans:
        return text
    pieces, done = [], 0
    for start, end in sorted(spans):
        if end <= done:
            continue
        if start >= done:
            pieces += [text[done:start], MASK]
        done = end
    pieces.append(text[done:])
    return "".join(pieces)


@dataclass(frozen=True, slots=True)
class _View:
    """A text with one layer of escapes decoded, and where each part came from.

    The view is a run of pieces: plain runs copied as they are, and decoded escapes.
    `starts[i]` is where piece i begins in the view, `sources[i]` the span it came
    from in the original, `plain[i]` whether it is a plain run (mapped char by char).
    A `+` decodes to a space, and so does a decoded `+` (`%2B`): the view cannot tell
    which a site meant, so it errs on the side of hiding.
    """

    text: str
    starts: list[int]
    sources: list[tuple[int, int]]
    plain: list[bool]

    @classmethod
    def decode(cls, text: str) -> _View:
        """Decode one layer of escapes of `text`."""
        parts: list[str] = []
        sources: list[tuple[int, int]] = []
        plain: list[bool] = []
        at = 0
        for match in _TOKEN.finditer(text):
            decoded = _decode_token(match[0])
            if decoded is None:
                continue  # not an escape after all: it stays in the plain run
            start, end = match.span()
            if start > at:
                parts.append(text[at:start])
                sources.append((at, start))
                plain.append(True)
            parts.append(decoded)
            sources.append((start, end))
            plain.append(False)
            at = end
        if at < len(text):
            parts.append(text[at:])
            sources.append((at, len(text)))
            plain.append(True)
        starts = list(itertools.accumulate(map(len, parts), initial=0))[:-1]
        # A plain run holds no "+" (each is a token), so this only touches decoded ones.
        return cls("".join(parts).replace("+", " "), starts, sources, plain)

    def source_span(self, span: tuple[int, int]) -> tuple[int, int]:
        """Return the span of the original that a span of the view came from."""
        first = bisect.bisect_right(self.starts, span[0]) - 1
        last = bisect.bisect_right(self.starts, span[1] - 1) - 1
        start = self.sources[first][0]
        if self.plain[first]:
            start += span[0] - self.starts[first]
        end = self.sources[last][1]
        if self.plain[last]:
            end = self.sources[last][0] + span[1] - self.starts[last]
        return start, end


def _decode_token(token: str) -> str | None:
    """Decode one escape the tokenizer found, or None when it decodes to nothing."""
    first = token[0]
    if first == "%":
        return unquote(token, errors="replace")
    if token.startswith("&#"):
        digits = token[2:].rstrip(";")
        code = int(digits[1:], 16) if digits[0] in "xX" else int(digits)
        return chr(code) if 0 < code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
    if first == "&":
        decoded = html.unescape(token)
        return None if decoded == token else decoded
    if first == "+":
        return " "
    kind = token[1]
    if kind == "u":
        code = int(token[2:6], 16)
        if len(token) > 6:  # a surrogate pair
            code = 0x10000 + ((code - 0xD800) << 10) + (int(token[8:12], 16) - 0xDC00)
        return "\ufffd" if 0xD800 <= code <= 0xDFFF else chr(code)
    if kind == "x":
        return chr(int(token[2:4], 16))
    return _JSON_ESCAPES[kind]


class SecretsFilter(logging.Filter):
    """Drop a library's records below `level` and redact the secrets from the rest.

    Installed on a third-party logger (Apprise) whose debug output shows URLs and
    payloads: what remains (warnings, errors) is rewritten with its arguments merged
    in, so no handler ever formats the raw values.
    """

    def __init__(self, secrets: Iterable[str], level: int = logging.WARNING) -> None:
        super().__init__()
        self._secrets = frozenset(s for s in secrets if s)
        self._level = level

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record only at `level` or above, with its message redacted."""
        if record.levelno < self._level:
            return False
        record.msg = redact(record.getMessage(), self._secrets)
        record.args = None
        return True
