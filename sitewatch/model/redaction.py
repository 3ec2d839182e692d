"""Keep secrets out of everything sitewatch shows: probe details, pages, logs.

A secret is any value taken from the environment, every API token and every notify
URL (`Settings.secrets`, `CheckSpec.secrets`). `redact` hides each of them wherever
it appears, also percent-, HTML- or JSON-encoded; `SecretsFilter` applies the same
to log records of a library we do not control (Apprise).
"""

from __future__ import annotations

import functools
import html
import logging
import re
from collections.abc import Iterable

MASK = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in `text` with `***`, also percent-, HTML- or JSON-encoded.

    The whole text is searched, fixed wording included: a secret that is also an
    ordinary word is hidden wherever the word appears, which errs on the safe side.
    """
    present = frozenset(s for s in secrets if s)
    if _plainly_absent(text, present):
        return text
    pattern = _secrets_pattern(present)
    return pattern.sub(MASK, text) if pattern is not None else text


def _plainly_absent(text: str, secrets: frozenset[str]) -> bool:
    """Tell cheaply that no secret can be in `text`, in any spelling `redact` knows.

    Every encoded spelling needs a `%`, `&` or `\\` (or `+` for a space), so text
    without those and without a plain occurrence needs no pattern. This is the probe's
    hot path: each check has secrets of its own, so compiling would miss the cache
    on every probe (347 us each, 17 % of the CPU at 10,000 checks: bench/README.md).
    """
    if any(mark in text for mark in "%&\\"):
        return False
    if "+" in text and any(" " in secret for secret in secrets):
        return False
    return not any(secret in text for secret in secrets)


def redact_head(text: str, limit: int, secrets: frozenset[str]) -> str:
    """Return about `limit` leading chars of `text`, redacted, never half a secret."""
    pattern = _secrets_pattern(frozenset(s for s in secrets if s))
    if pattern is None:
        return text[:limit]
    # The longest spelling of a character is 20 chars (4 UTF-8 bytes as %25xx).
    reach = limit + 20 * max(map(len, secrets))
    cut = limit
    for match in pattern.finditer(text, 0, reach):
        if match.start() < cut < match.end():
            cut = match.end()  # take the straddling secret whole, to hide it whole
    return pattern.sub(MASK, text[:cut])


@functools.lru_cache(maxsize=256)
def _secrets_pattern(secrets: frozenset[str]) -> re.Pattern[str] | None:
    if not secrets:
        return None
    # Longest first, so a secret that contains another is hidden whole.
    ordered = sorted(secrets, key=len, reverse=True)
    return re.compile("|".join("".join(map(_char_forms, s)) for s in ordered))


def _char_forms(char: str) -> str:
    # A site may echo a secret inside a URL (a Location, or a `next=` URL inside a
    # URL, hence percent-encoded twice), in HTML or in JSON: match each character in
    # any of those spellings.
    utf8 = char.encode()
    forms = {
        re.escape(char),
        re.escape(html.escape(char)),
        "".join(f"%{_hex(b)}" for b in utf8),
        "".join(f"%25{_hex(b)}" for b in utf8),
    }
    if char == " ":
        forms |= {r"\+", f"%{_hex(ord('+'))}"}
    if char == "'":
        forms.add("&#39;")
    if char in '"\\':
        forms.add(re.escape("\\" + char))
    return "(?:" + "|".join(sorted(forms, key=len, reverse=True)) + ")"


def _hex(byte: int) -> str:
    """Match a byte's two hex digits in either case, as percent-encoding allows."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{byte:02x}")


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
