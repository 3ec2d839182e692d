"""Posted forms, read defensively: size, encoding and the CSRF token.

A browser posts `application/x-www-form-urlencoded` (or multipart); anything a
caller sends must end in a page, never a 500: a file where text is expected, a
value that is not valid Unicode, a control character, an absurd length.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

MAX_VALUE = 8000
"""The longest value any console field takes (a note is at most 2,000 characters)."""
MAX_FIELDS = 500
"""Checkboxes for every check of a customer fit; more is not a form of ours."""


@dataclass(frozen=True, slots=True)
class BadForm:
    """Why a posted form cannot be read at all."""

    message: str


async def read_form(request: web.Request) -> Mapping[str, list[str]] | BadForm:
    """Return the posted fields (name -> values in order), or why they cannot be read.

    Raises `web.HTTPRequestEntityTooLarge` past the service's body limit.
    """
    try:
        posted = await request.post()
    except (UnicodeDecodeError, ValueError):
        return BadForm("the form is not valid UTF-8 text")
    if len(posted) > MAX_FIELDS:
        return BadForm(f"the form has more than {MAX_FIELDS} fields")
    fields: dict[str, list[str]] = {}
    for name, value in posted.items():
        if not isinstance(value, str):
            return BadForm(f"{name!r} must be text, not a file")
        if problem := _problem(value):
            return BadForm(f"{name!r} {problem}")
        fields.setdefault(name, []).append(value.replace("\r\n", "\n"))
    return fields


def _problem(value: str) -> str | None:
    if len(value) > MAX_VALUE:
        return f"is longer than {MAX_VALUE} characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid text (it holds a lone surrogate)"
    if any(ord(c) < 32 and c not in "\t\r\n" for c in value) or "\x7f" in value:
        return "holds control characters"
    return None


def csrf_matches(form: Mapping[str, list[str]], expected: str) -> bool:
    """Tell whether a posted form carries the expected CSRF token."""
    sent = form.get("csrf", [""])[0]
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())
