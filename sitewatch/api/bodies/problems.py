"""Pydantic's validation errors as the API's 400 sentences.

The field types say most problems themselves (`fields.problem`); what pydantic
finds on its own is put into words here: unknown keys (named, with the keys that
are expected), missing keys (with what they are), a body that is not an object.
Several problems are answered together, separated by `; `.
"""

from __future__ import annotations

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from sitewatch.api.bodies.fields import Missing

NOT_AN_OBJECT = "the request body must be a JSON object"


def explain(error: ValidationError, model: type[BaseModel], *, query: bool = False) -> str:
    """Return one sentence per problem that `error` found in a `model`, joined by `; `."""
    details = error.errors(include_url=False)
    unknown = [str(e["loc"][0]) for e in details if e["type"] == "extra_forbidden" and e["loc"]]
    sentences = [_unknown(unknown, model, query=query)] if unknown else []
    sentences += [
        _sentence(e, model) for e in details if not (e["type"] == "extra_forbidden" and e["loc"])
    ]
    return "; ".join(dict.fromkeys(sentences))


def _unknown(names: list[str], model: type[BaseModel], *, query: bool) -> str:
    expected = ", ".join(sorted(model.model_fields)) or "none"
    shown = [_short(repr(name) if query else name) for name in sorted(names)]
    what = "query parameter(s)" if query else "field(s)"
    return f"unknown {what} {', '.join(shown)}; expected: {expected}"


def _sentence(error: ErrorDetails, model: type[BaseModel]) -> str:
    loc = error["loc"]
    if error["type"] == "sitewatch":
        return str(error["msg"])
    if not loc and error["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return NOT_AN_OBJECT
    path = _path(loc)
    if error["type"] == "missing":
        return f"{path} is required{_hint(model, loc)}"
    # Not expected (the field types explain themselves): pydantic's words, located.
    message = str(error["msg"])
    return f"{path}: {message[:1].lower()}{message[1:]}"


def _hint(model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    field = model.model_fields.get(str(loc[0])) if len(loc) == 1 else None
    markers = [m for m in field.metadata if isinstance(m, Missing)] if field else []
    return markers[0].hint if markers else ""


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return _short(out) or "the request body"


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
