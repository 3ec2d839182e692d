"""Extract patterns: a check author's regexes, run on site bodies in linear time.

Python's `re` backtracks: a pattern such as `(a|a)*b` takes exponential time on a
body the site chose. RE2 (google-re2) matches in time linear in the body whatever
the pattern, at the price of a few features: backreferences and lookaround are
refused, and `\\d`, `\\w`, `\\s`, `\\b` mean their ASCII classes. A pattern RE2
cannot take is a config error (`sitewatch check`), never a surprise at probe time.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import cast

import re2

from sitewatch.model.checks import ExtractPattern

_OPTIONS = re2.Options()
# RE2 logs every refused pattern to stderr itself; the config error says it once.
_OPTIONS.log_errors = False


# Both are cached by pattern: thousands of checks of one site template share one
# pattern, and a compiled RE2 pattern is immutable, so they can share one object too.
@lru_cache(maxsize=1024)
def extract_problem(pattern: str) -> str | None:
    """Say what keeps `pattern` from being an extract pattern, or None if it can be one."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression: {exc}"
    try:
        re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = _reason(exc)
        return (
            f"RE2 cannot run this regular expression in linear time ({reason}): "
            "backreferences and lookaround are not available"
        )
    if compiled.groups < 1:
        return 'the regular expression needs a group, such as value="([^"]+)"'
    return None


def _reason(error: Exception) -> str:
    # RE2's error carries its message as bytes.
    message = error.args[0] if error.args else "refused"
    return message.decode(errors="replace") if isinstance(message, bytes) else str(message)


@lru_cache(maxsize=1024)
def compile_extract(pattern: str) -> ExtractPattern:
    """Compile an extract pattern that `extract_problem` accepted, with RE2."""
    return cast(ExtractPattern, re2.compile(pattern, _OPTIONS))
