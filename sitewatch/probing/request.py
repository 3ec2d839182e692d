"""What one step puts on the wire: its URL, body and headers, with `{name}` filled in.

A value extracted from a site may hold anything the site put there. One holding a
control character (CR, LF, NUL, ...) or a lone surrogate cannot be sent: in a header
it would split the request, in a URL or a body it would not mean what the site
meant. Such a step is `Unsendable`, with the reason, before anything is sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from yarl import URL

from sitewatch.model import Method, Step

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_UNSENDABLE_CATEGORIES = ("Cc", "Cs")
"""Control characters and lone surrogates."""


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request of a step (the first one, or one a redirect leads to)."""

    method: Method
    url: URL
    # Bodies and headers carry credentials: keep them out of repr() and so out of logs.
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    form: Mapping[str, str] | None = field(default=None, repr=False)
    json: Any = field(default=None, repr=False)

    def without_credentials(self) -> Request:
        """Return this request without the step's body and headers."""
        return replace(self, headers={}, form=None, json=None)


@dataclass(frozen=True, slots=True)
class Unsendable:
    """A step whose request cannot be sent, and why."""

    reason: str


class _RefusedError(Exception):
    """Raised inside `prepare` only, to stop filling at the first value it cannot send."""


def target(step: Step, values: Mapping[str, str]) -> str:
    """Return the step's URL with extracted values in place, as a report shows it."""
    if "{" not in step.url:
        return step.url
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), step.url)


def prepare(step: Step, values: Mapping[str, str]) -> Request | Unsendable:
    """Fill a step's placeholders with extracted values and check it can be sent."""
    try:
        url = _fill(step.url, values, "the URL")
        headers = {name: _fill(v, values, f"the header {name}") for name, v in step.headers.items()}
        form = None
        if step.form is not None:
            form = {key: _fill(v, values, f"the form field {key}") for key, v in step.form.items()}
        json = _fill_json(step.json, values)
        for name, value in headers.items():
            _refuse_unsendable(name + value, f"the header {name}")
        _refuse_unsendable(url, "the URL")
    except _RefusedError as refused:
        return Unsendable(str(refused))
    try:
        parsed = URL(url)
        parsed.raw_host  # noqa: B018 - an impossible host name raises here, not later
    except ValueError as error:  # UnicodeError included: a host IDNA cannot encode
        return Unsendable(f"not a URL that can be requested ({type(error).__name__})")
    return Request(step.method, parsed, headers, form, json)


class Requests:
    """`prepare`, remembering the request of every step with no placeholder in it.

    Such a step's request is the same at every probe, and building it (above all
    parsing its URL) was most of what a single-GET probe costs beyond aiohttp's own
    work (bench/README.md, "Issue 15, continued"). Steps are looked up by identity,
    and each remembered step is held, so its id cannot name another step meanwhile.
    """

    def __init__(self) -> None:
        self._known: dict[int, tuple[Step, Request | None]] = {}
        """`id(step)`: the step, and its request if it never changes (else None)."""

    def prepare(self, step: Step, values: Mapping[str, str]) -> Request | Unsendable:
        """Return what `prepare(step, values)` returns, reusing a constant request."""
        known = self._known.get(id(step))
        if known is not None and known[0] is step and known[1] is not None:
            return known[1]
        request = prepare(step, values)
        if known is None:
            fixed = (
                request if isinstance(request, Request) and not _has_placeholders(step) else None
            )
            self._known[id(step)] = (step, fixed)
        return request


def _has_placeholders(step: Step) -> bool:
    """Tell whether any part of a step's request may hold a `{name}` to fill."""
    texts = [step.url, *step.headers.values(), *(step.form or {}).values()]
    return any("{" in text for text in texts) or _json_has_placeholders(step.json)


def _json_has_placeholders(document: Any) -> bool:
    if isinstance(document, str):
        return "{" in document
    if isinstance(document, Mapping):
        return any(_json_has_placeholders(item) for item in document.values())
    if isinstance(document, list | tuple):
        return any(_json_has_placeholders(item) for item in document)
    return False


def _fill(template: str, values: Mapping[str, str], where: str) -> str:
    """Insert extracted values for `{name}`; unknown names stay as written."""
    if "{" not in template:
        return template  # the common case, and every probe runs it: no regex

    def insert(match: re.Match[str]) -> str:
        value = values.get(match[1])
        if value is None:
            return match[0]
        _refuse_unsendable(value, where, name=match[1])
        return value

    return _PLACEHOLDER.sub(insert, template)


def _fill_json(document: Any, values: Mapping[str, str]) -> Any:
    if isinstance(document, str):
        return _fill(document, values, "the JSON body")
    if isinstance(document, Mapping):
        return {key: _fill_json(item, values) for key, item in document.items()}
    if isinstance(document, list | tuple):
        return [_fill_json(item, values) for item in document]
    return document


def _refuse_unsendable(text: str, where: str, *, name: str | None = None) -> None:
    """Raise `_RefusedError` if `text` holds a character no request can carry."""
    if text.isprintable():
        return
    for char in text:
        if unicodedata.category(char) in _UNSENDABLE_CATEGORIES:
            character = f"the control character U+{ord(char):04X}"
            if name is None:
                raise _RefusedError(f"{where} holds {character}, so it cannot be sent")
            raise _RefusedError(
                f"the value extracted as {name} holds {character}, so it cannot go into {where}"
            )
