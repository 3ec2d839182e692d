"""Site text as sitewatch shows it: one printable line, markup left out, secrets hidden.

Everything here runs on text a site chose, so everything here is linear in it: the
markup is skipped by a scan with `str.find` (a regex with lazy `.*?` took 170-260 ms
per hostile body), and only a bounded head of a body is looked at.
"""

from __future__ import annotations

import html
import string

from sitewatch.model.redaction import redact, redact_head

EXCERPT_CHARS = 160
"""How much of a body a step report quotes."""
_SOURCE_CHARS = 16_384
"""How much of a body the excerpt may be made from (past a page's head, say)."""
_VISIBLE_CHARS = 1024
"""Visible text to gather for an excerpt: room for entities and spaces to shrink."""
_RAW_TEXT_ELEMENTS = ("script", "style")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_BIDI_CONTROLS = [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
_ESCAPES = {
    code: f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
    for code in [*range(0x20), *range(0x7F, 0xA0), *_BIDI_CONTROLS, *range(0xD800, 0xE000)]
}
"""Control characters, direction overrides and lone surrogates, as escapes."""


def excerpt(body: str, secrets: frozenset[str]) -> str:
    """Return the start of a body as one line of readable text, secrets hidden."""
    # Secrets are hidden before the markup goes (a tag-like `<1>` inside a password
    # would otherwise be taken out and leave the rest of it), so first find how much
    # of the body the excerpt needs, and redact only that.
    _, needed = visible_text(body[:_SOURCE_CHARS], _VISIBLE_CHARS)
    head = redact_head(body, needed, secrets)
    visible = " ".join(html.unescape(visible_text(head, _VISIBLE_CHARS)[0]).split())
    # Again: taking tags and line breaks out may have joined a secret together.
    return printable(redact(visible, secrets))[:EXCERPT_CHARS]


def printable(text: str) -> str:
    """Return `text` with control characters, direction overrides and lone surrogates escaped.

    What a site sends ends up on a terminal (`sitewatch probe`), in a database and in
    pages: no line breaks, no terminal escapes, nothing that cannot be encoded.
    """
    if text.isprintable():
        return text
    return text.translate(_ESCAPES)


def visible_text(markup: str, enough: int) -> tuple[str, int]:
    """Return the text of HTML without its tags, comments, scripts and styles.

    The scan stops once it has `enough` characters of text; it returns the text and
    where in `markup` it stopped. Each `<` starts markup that ends at its `>` (or
    `-->`, or the closing tag of a script or style), or at the end of the text when it
    never ends: every `find` starts where the last one stopped, so the scan is linear.
    """
    lower = markup.translate(_ASCII_LOWER)  # the same length, so offsets carry over
    pieces: list[str] = []
    gathered = at = 0
    while gathered < enough:
        start = markup.find("<", at)
        text_end = min(len(markup) if start < 0 else start, at + enough - gathered)
        pieces += [markup[at:text_end], " "]
        gathered += text_end - at
        if text_end != start:
            return "".join(pieces), text_end  # enough text, or the end of the markup
        at = _markup_end(lower, start)
    return "".join(pieces), at


def _markup_end(lower: str, start: int) -> int:
    """Return where the markup that starts at `start` ends (past its last character)."""
    if lower.startswith("<!--", start):
        return _past(lower, "-->", start + 4)
    for name in _RAW_TEXT_ELEMENTS:
        after_name = start + 1 + len(name)
        if lower.startswith(name, start + 1) and not lower[after_name : after_name + 1].isalnum():
            close = lower.find(f"</{name}", after_name)
            return len(lower) if close < 0 else _past(lower, ">", close)
    return _past(lower, ">", start + 1)


def _past(text: str, end_mark: str, start: int) -> int:
    found = text.find(end_mark, start)
    return len(text) if found < 0 else found + len(end_mark)
