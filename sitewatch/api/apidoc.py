"""Build an OpenAPI 3.1 document from a table of operations and pydantic models.

Schemas come from pydantic (`models_json_schema`): request bodies and query strings
in validation mode, answers in serialization mode, every model and enum once under
`components/schemas`, named after its class without a `Body` suffix. Query
strings become parameters, one per field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from sitewatch.api.bodies.requests import NoQuery, Query

Schema = dict[str, Any]
REF = "#/components/schemas/"


@dataclass(frozen=True, slots=True)
class Operation:
    """One route as the document describes it."""

    method: str
    path: str
    summary: str
    answer: tuple[int, type[BaseModel] | None]
    """The success status and its body (None: no content)."""
    errors: tuple[int, ...] = ()
    """Statuses particular to the route (403, 404, 409), besides those every route gives."""
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[Query] = NoQuery
    public: bool = False
    """No token needed (and none of 400, 401, 429)."""
    also: tuple[tuple[int, type[BaseModel]], ...] = ()
    """Other answers that are not errors (503 of /healthz)."""

    def statuses(self) -> list[int]:
        """Return every error status the route may answer, in order."""
        common = () if self.public else (400, 401, 429)
        sent = (400, 413) if self.body is not None else ()
        return sorted({*common, *sent, *self.errors})


def document(
    operations: tuple[Operation, ...],
    *,
    info: Schema,
    token: str,
    error: type[BaseModel],
    error_answers: Mapping[int, str],
) -> Schema:
    """Return the OpenAPI 3.1 document of `operations`; every error answers `error`."""
    schemas = _schemas(operations, error)
    paths: dict[str, Schema] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op, schemas, error, error_answers)
    components = _referenced(schemas, paths)
    return {
        "openapi": "3.1.0",
        "info": info,
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": token}
            },
            "schemas": components,
        },
    }


def component_name(model: type[BaseModel] | str) -> str:
    """Name a model in the document: `WindowBody` is `Window`."""
    return (model if isinstance(model, str) else model.__name__).removesuffix("Body")


def _schemas(operations: tuple[Operation, ...], error: type[BaseModel]) -> dict[str, Schema]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(error, "serialization")]
    for op in operations:
        models += [(model, "serialization") for _, model in op.also]
        if op.answer[1] is not None:
            models.append((op.answer[1], "serialization"))
        if op.body is not None:
            models.append((op.body, "validation"))
        models.append((op.query, "validation"))
    _, defs = models_json_schema(list(dict.fromkeys(models)), ref_template=REF + "{model}")
    return {component_name(n): _tidy(s) for n, s in defs.get("$defs", {}).items()}


def _tidy(value: Any) -> Any:
    """Drop pydantic's titles, and follow the component names in `$ref`s."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "title" and isinstance(item, str):
                continue
            if key == "$ref" and isinstance(item, str):
                out[key] = REF + component_name(item.removeprefix(REF))
            else:
                out[key] = _tidy(item)
        return out
    if isinstance(value, list):
        return [_tidy(item) for item in value]
    return value


def _referenced(schemas: Mapping[str, Schema], paths: Schema) -> dict[str, Schema]:
    """Keep the schemas the paths use, directly or through other schemas."""
    keep: set[str] = set()
    pending = list(_refs(paths))
    while pending:
        name = pending.pop()
        if name not in keep and name in schemas:
            keep.add(name)
            pending += _refs(schemas[name])
    return {name: schema for name, schema in schemas.items() if name in keep}


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"].removeprefix(REF)] if isinstance(value.get("$ref"), str) else []
        return found + [name for item in value.values() for name in _refs(item)]
    if isinstance(value, list):
        return [name for item in value for name in _refs(item)]
    return []


def _operation(
    op: Operation, schemas: Mapping[str, Schema], error: type[BaseModel], words: Mapping[int, str]
) -> Schema:
    status, model = op.answer
    responses: dict[str, Schema] = {
        str(status): {"description": "No content."} if model is None else _json(model, op.summary)
    }
    for code, other in op.also:
        responses[str(code)] = _json(other, other.__doc__ or "")
    for code in op.statuses():
        responses[str(code)] = _json(error, words[code])
        if code == 429:
            responses[str(code)]["headers"] = {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            }
    operation: Schema = {"summary": op.summary, "responses": responses}
    if op.body is not None:
        operation["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    parameters = _path_parameters(op.path) + _query_parameters(op.query, schemas)
    if parameters:
        operation["parameters"] = parameters
    if op.public:
        operation["security"] = []
    return operation


def _json(model: type[BaseModel], description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _ref(model: type[BaseModel]) -> Schema:
    return {"$ref": REF + component_name(model)}


def _path_parameters(path: str) -> list[Schema]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
            "example": "1",
        }
        for name in re.findall(r"\{(\w+)\}", path)
    ]


def _query_parameters(query: type[Query], schemas: Mapping[str, Schema]) -> list[Schema]:
    shape = schemas.get(component_name(query), {})
    required = set(shape.get("required", ()))
    parameters = []
    for name, prop in shape.get("properties", {}).items():
        schema = _without_null({k: v for k, v in prop.items() if k != "description"})
        if schema.get("default", 0) is None:
            del schema["default"]
        parameter: Schema = {"name": name, "in": "query", "required": name in required}
        parameter |= {"schema": schema, "description": prop.get("description", "")}
        if schema.get("type") == "array":
            # `state=open,acknowledged`; the route takes `state=open&state=acknowledged` too.
            parameter |= {"style": "form", "explode": False}
        parameters.append(parameter)
    return parameters


def _without_null(schema: Schema) -> Schema:
    """Drop the `null` a query parameter cannot be (an absent one is the default)."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o != {"type": "null"}]
    rest = {k: v for k, v in schema.items() if k not in ("anyOf", "default")}
    default = {"default": schema["default"]} if schema.get("default") is not None else {}
    return (kept[0] if len(kept) == 1 else {"anyOf": kept}) | rest | default
