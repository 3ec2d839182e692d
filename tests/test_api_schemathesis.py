"""Schemathesis against the running service: no 5xx for any input, answers as documented.

The real app (`build_app`, system clock, real SQLite) serves on 127.0.0.1; its three
checks point at a closed port, so tickets open within a second and the ticket
routes have real ids to work on. Schemathesis fetches the published document and
sends generated requests, valid and invalid, as a customer and as an operator.
Hypothesis runs derandomized with a small budget per operation: the same requests
every run, in a few seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from pytest_aiohttp import AiohttpServer
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from sitewatch.app import build_app
from tests.api_harness import RECURRING, TOKENS, write_settings
from tests.harness import until

EXAMPLES_PER_OPERATION = 30
CHECKS: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def fuzz(base_url: str, callers: list[str]) -> list[str]:
    """Run every operation of the served document as each caller; return the failures."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", timeout=10)
    failures: list[str] = []
    with requests.Session() as session:
        for result in schema.get_all_operations():
            operation = result.ok()
            for who in callers:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    headers = {"Authorization": f"Bearer {TOKENS[who]}"}

                    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
                    @hypothesis.settings(
                        max_examples=EXAMPLES_PER_OPERATION,
                        derandomize=True,
                        database=None,
                        deadline=None,
                        phases=[Phase.explicit, Phase.generate],
                        suppress_health_check=list(HealthCheck),
                        print_blob=False,
                    )
                    def run(case: schemathesis.Case) -> None:
                        case.call_and_validate(
                            base_url=base_url,
                            session=session,
                            headers=headers,  # noqa: B023 (run is called in this iteration)
                            checks=CHECKS,
                            timeout=10,
                        )

                    try:
                        run()
                    except hypothesis.errors.Unsatisfiable:
                        pass  # nothing to make invalid: the operation takes no input
                    except Exception as failure:
                        failures.append(f"{operation.label} as {who} ({mode.value}): {failure}")
    return failures


async def test_no_input_makes_the_api_fail_or_answer_outside_its_schema(
    tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    server = await aiohttp_server(build_app(write_settings(tmp_path, extra=RECURRING)))
    base_url = f"http://{server.host}:{server.port}"

    def tickets_opened() -> bool | None:
        answer = requests.get(
            f"{base_url}/api/v1/tickets",
            headers={"Authorization": f"Bearer {TOKENS['operator']}"},
            timeout=10,
        )
        return True if len(answer.json()["tickets"]) == 3 else None

    async def probe() -> bool | None:
        return await asyncio.to_thread(tickets_opened)

    await until("a ticket for each check", probe)
    failures = await asyncio.to_thread(fuzz, base_url, ["customer", "operator"])
    assert failures == [], "\n\n".join(failures)
