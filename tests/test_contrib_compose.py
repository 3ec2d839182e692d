"""contrib/docker-compose.yml: valid YAML that runs sitewatch on its own PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "contrib" / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def test_the_compose_file_runs_postgresql_and_sitewatch(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"postgres", "sitewatch"}
    assert "postgres-data" in compose["volumes"]


def test_sitewatch_is_built_from_the_repository_and_runs_the_documented_command(
    compose: dict[str, Any],
) -> None:
    service = compose["services"]["sitewatch"]
    context = (COMPOSE.parent / service["build"]["context"]).resolve()
    assert (context / service["build"]["dockerfile"]).is_file()
    assert service["command"] == ["run", "-c", "/etc/sitewatch/sitewatch.yaml"]
    assert any(volume.endswith(":/etc/sitewatch:ro") for volume in service["volumes"])


def test_sitewatch_starts_only_once_postgresql_answers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["sitewatch"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_no_password_is_written_in_the_file(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for name, value in service.get("environment", {}).items():
            if "PASSWORD" in name:
                assert re.fullmatch(r"\$\{\w+:\?[^}]+\}", value), (
                    f"{name} is not taken from the env"
                )


def test_the_role_sitewatch_gets_owns_its_schema_and_nothing_more(
    compose: dict[str, Any],
) -> None:
    script = compose["configs"]["sitewatch-role"]["content"]
    assert "CREATE SCHEMA sitewatch AUTHORIZATION sitewatch" in script
    assert "SUPERUSER" not in script and "CREATEDB" not in script
