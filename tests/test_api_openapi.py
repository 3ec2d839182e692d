"""The OpenAPI document matches the routes the app registers, and the domain enums."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.core.result import Ok

from sitewatch.api.openapi import DOCUMENT
from sitewatch.app import build_app
from sitewatch.model import Cause, MaintenanceKind, TicketState, WindowState
from tests.api_harness import Api, write_settings

DOCUMENTED_OUTSIDE_API = {"/healthz"}
"""The one route outside /api that the document covers (the others are HTML or text)."""


def registered_routes(directory: Path) -> set[tuple[str, str]]:
    """Return (METHOD, path) of every JSON route of the real app, HEAD aside."""
    app = build_app(write_settings(directory))
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        api = path.startswith("/api/") or path in DOCUMENTED_OUTSIDE_API
        if api and route.method != "HEAD":
            routes.add((route.method, path))
    return routes


def documented_routes() -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in DOCUMENT["paths"].items()
        for method in operations
    }


def test_every_registered_route_is_documented_and_every_documented_route_exists(
    tmp_path: Path,
) -> None:
    registered = registered_routes(tmp_path)
    assert registered - documented_routes() == set(), "registered but not documented"
    assert documented_routes() - registered == set(), "documented but not registered"


async def test_the_document_is_served_without_a_token(api: Api) -> None:
    status, served = await api.call("GET", "/api/v1/openapi.json", "nobody")
    assert (status, served) == (200, DOCUMENT)


def schema_of(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = DOCUMENT["components"]["schemas"][name]
    return schema


def resolved(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a `$ref` to the component it names."""
    ref = schema.get("$ref")
    return schema_of(ref.removeprefix("#/components/schemas/")) if ref else schema


def test_enums_in_the_document_are_the_domain_enums() -> None:
    def values(model: str, field: str) -> list[str]:
        found: list[str] = resolved(schema_of(model)["properties"][field])["enum"]
        return found

    assert values("Declaration", "kind") == [k.value for k in MaintenanceKind]
    assert values("Resolution", "cause") == [c.value for c in Cause]
    assert values("Window", "state") == [s.value for s in WindowState]
    assert values("Ticket", "state") == [s.value for s in TicketState]


def test_request_bodies_reject_unknown_keys_as_the_routes_do() -> None:
    for name in ("Declaration", "WindowEnd", "Acknowledgement", "Resolution"):
        assert schema_of(name)["additionalProperties"] is False, name
    assert schema_of("Declaration")["required"] == ["customer", "kind", "end"]
    assert schema_of("Resolution")["required"] == ["cause"]


def test_every_route_but_health_and_the_document_needs_a_bearer_token() -> None:
    assert DOCUMENT["security"] == [{"bearer": []}]
    assert DOCUMENT["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    public = {
        path
        for path, operations in DOCUMENT["paths"].items()
        for operation in operations.values()
        if operation.get("security") == []
    }
    assert public == {"/healthz", "/api/v1/openapi.json"}


def answers() -> list[tuple[str, str, str, dict[str, Any]]]:
    return [
        (method, path, code, answer)
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        for code, answer in operation["responses"].items()
    ]


def test_every_error_answer_is_the_error_object() -> None:
    for method, path, code, answer in answers():
        if code.startswith(("4", "5")) and (path, code) != ("/healthz", "503"):
            schema = answer["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)


def test_an_unhealthy_instance_answers_503_with_its_problems() -> None:
    schema = DOCUMENT["paths"]["/healthz"]["get"]["responses"]["503"]["content"]
    assert schema["application/json"]["schema"] == {"$ref": "#/components/schemas/Unhealthy"}
    assert schema_of("Unhealthy")["required"] == ["status", "problems"]


def test_every_route_with_a_token_may_answer_400_401_and_429_with_retry_after() -> None:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            if operation.get("security") == []:
                assert not codes & {"400", "401", "429"}, (method, path)
                continue
            assert {"400", "401", "429"} <= codes, (method, path)
            headers = operation["responses"]["429"]["headers"]
            assert headers["Retry-After"]["schema"] == {"type": "integer", "minimum": 1}
            if "requestBody" in operation:
                assert "413" in codes, (method, path)


def test_lists_document_limit_after_and_next() -> None:
    for path, model in (("/api/v1/maintenance", "WindowList"), ("/api/v1/tickets", "TicketList")):
        parameters = {p["name"]: p for p in DOCUMENT["paths"][path]["get"]["parameters"]}
        assert parameters["limit"]["schema"] == {
            "type": "integer",
            "minimum": 1,
            "maximum": 1000,
            "default": 100,
        }
        assert parameters["after"]["schema"]["type"] == "string"
        assert "next" in schema_of(model)["properties"]
        assert "next" not in schema_of(model)["required"]


def test_the_document_names_no_schema_it_does_not_use() -> None:
    text = json.dumps(DOCUMENT["paths"]) + json.dumps(DOCUMENT["components"]["schemas"])
    unused = {n for n in DOCUMENT["components"]["schemas"] if f'schemas/{n}"' not in text}
    assert unused == set()


def test_schemathesis_loads_every_operation_of_the_document() -> None:
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    operations = list(schema.get_all_operations())
    assert all(isinstance(operation, Ok) for operation in operations)
    assert len(operations) == len(documented_routes())
