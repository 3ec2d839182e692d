"""Fuzzing the running service: no 5xx for any input, answers as documented.

The real app (`build_app`, system clock, real SQLite) serves on 127.0.0.1; its three
checks point at a closed port, so tickets open within a second and the ticket
routes have real ids to work on. Schemathesis fetches the published document and
sends generated requests, valid and invalid (negative: every field and parameter
of the wrong type or shape), to every operation as a customer, another customer
and an operator, and checks each answer against the document. Beyond the schema,
hypothesis sends arbitrary bytes as bodies, JSON of any shape, bodies right in
every field but one (lone surrogates and control characters included), and
arbitrary query strings. Hypothesis runs derandomized with a small budget per
operation: the same requests every run, in seconds. The limits are lifted for the
fuzzing (they have tests of their own, `test_api_limits.py`).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import hypothesis
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from pytest_aiohttp import AiohttpServer
from schemathesis import GenerationMode
from schemathesis.checks import CheckFunction
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from sitewatch.app import build_app
from tests.api_harness import RECURRING, TOKENS, write_settings
from tests.harness import until

EXAMPLES_PER_OPERATION = 40
CHECKS: list[CheckFunction] = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
    unsupported_method,
    allow_header_conformance,
]
CALLERS = ["customer", "other customer", "operator"]
UNLIMITED = "limits: {requests_per_minute: 1000000, windows: 1000000}\n"
OPERATOR = {"Authorization": f"Bearer {TOKENS['operator']}"}


async def serve(tmp_path: Path, aiohttp_server: AiohttpServer) -> str:
    """Start the service; return its base URL once a ticket is open for each check."""
    server = await aiohttp_server(build_app(write_settings(tmp_path, extra=RECURRING + UNLIMITED)))
    base_url = f"http://{server.host}:{server.port}"

    def tickets_opened() -> bool | None:
        answer = requests.get(f"{base_url}/api/v1/tickets", headers=OPERATOR, timeout=10)
        return True if len(answer.json()["tickets"]) == 3 else None

    async def probe() -> bool | None:
        return await asyncio.to_thread(tickets_opened)

    await until("a ticket for each check", probe)
    return base_url


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
    base_url = await serve(tmp_path, aiohttp_server)
    failures = await asyncio.to_thread(fuzz, base_url, CALLERS)
    assert failures == [], "\n\n".join(failures)


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=30)
"""Lone surrogates and control characters included."""
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
FIELDS = ["customer", "kind", "end", "start", "checks", "note", "cause"]
URL_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
"""A URL holds UTF-8: no lone surrogate (their percent-encoded bytes are a named test)."""
QUERIES = st.dictionaries(
    st.sampled_from(["limit", "after", "state", "since", "until"]) | URL_TEXT,
    URL_TEXT,
    max_size=3,
)


def _encoded(body: object) -> bytes:
    # Lone surrogates go out as they are (invalid UTF-8), or escaped (`\ud800`).
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


def bodies(valid: dict[str, str]) -> st.SearchStrategy[bytes]:
    """Bytes of any kind, JSON of any shape, and `valid` with one field wrong."""
    one_wrong = st.tuples(st.sampled_from(FIELDS) | ANY_TEXT, JSON_VALUES).map(
        lambda wrong: valid | {wrong[0]: wrong[1]}
    )
    return st.one_of(
        st.binary(max_size=512),
        JSON_VALUES.map(_encoded),
        one_wrong.map(json.dumps).map(str.encode),
        one_wrong.map(_encoded),
    )


def routes(base_url: str) -> list[tuple[str, str, dict[str, str] | None]]:
    """Return every JSON route with a real id, and a body it accepts (None: it takes none)."""
    tickets = requests.get(f"{base_url}/api/v1/tickets", headers=OPERATOR, timeout=10).json()
    acked, resolved = (t["id"] for t in tickets["tickets"][:2])
    far = {"start": "2099-12-31T00:00:00Z", "end": "2100-01-01T00:00:00Z"}
    declared = {"customer": "acme", "kind": "other"} | far
    window = requests.post(
        f"{base_url}/api/v1/maintenance", json=declared, headers=OPERATOR, timeout=10
    ).json()["id"]
    return [
        ("POST", "/api/v1/maintenance", declared),
        ("PATCH", f"/api/v1/maintenance/{window}", {"end": far["end"]}),
        ("POST", f"/api/v1/tickets/{acked}/ack", {}),
        ("POST", f"/api/v1/tickets/{resolved}/resolve", {"cause": "network"}),
        ("GET", "/api/v1/maintenance", None),
        ("GET", f"/api/v1/maintenance/{window}", None),
        ("GET", "/api/v1/tickets", None),
        ("GET", f"/api/v1/tickets/{acked}", None),
        ("GET", "/api/v1/stats", None),
        ("GET", "/api/v1/checks", None),
    ]


def fuzz_bytes(base_url: str) -> None:
    """Send arbitrary bodies and query strings to every JSON route, as every caller."""
    with requests.Session() as session:

        @hypothesis.given(
            route=st.sampled_from(routes(base_url)), data=st.data(), who=st.sampled_from(CALLERS)
        )
        @hypothesis.settings(
            max_examples=400,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def send(
            route: tuple[str, str, dict[str, str] | None], data: st.DataObject, who: str
        ) -> None:
            method, path, valid = route
            body = b"" if valid is None else data.draw(bodies(valid))
            headers = {"Authorization": f"Bearer {TOKENS[who]}", "Content-Type": "application/json"}
            answer = session.request(
                method, base_url + path, params=data.draw(QUERIES), data=body, headers=headers
            )
            assert answer.status_code < 500, answer.text
            assert answer.headers["Content-Type"].startswith("application/json"), answer.text
            if answer.status_code >= 400:
                assert set(answer.json()) == {"error"}, answer.text

        send()


async def test_no_bytes_make_the_api_fail_or_answer_anything_but_json(
    tmp_path: Path, aiohttp_server: AiohttpServer
) -> None:
    base_url = await serve(tmp_path, aiohttp_server)
    await asyncio.to_thread(fuzz_bytes, base_url)
