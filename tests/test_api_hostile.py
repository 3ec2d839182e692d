"""Hostile input: nothing a caller sends makes the API answer 5xx, or log a token.

Each case is a request a hostile or broken client may send, byte for byte where the
bytes matter (a raw socket to the running test server). Each is answered 400 (413
over 64 KiB) with a JSON `{"error": ...}` that says what is wrong; a request that
is not valid HTTP at all is refused by aiohttp's parser before sitewatch reads it,
and then only its kind is logged, never its text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from tests.api_harness import TOKENS, Api
from tests.test_api_maintenance import assert_error, declaration, later

OPERATOR = TOKENS["operator"] or ""


async def raw_request(api: Api, head: bytes, body: bytes = b"") -> tuple[int, bytes, bytes]:
    """Send bytes as they are to the test server; return status, headers, body."""
    server = api.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(head + b"\r\nHost: test\r\nConnection: close\r\n\r\n" + body)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    head_part, _, payload = answer.partition(b"\r\n\r\n")
    status = int(head_part.split(b" ", 2)[1])
    return status, head_part, payload


def post(path: str, body: bytes, *headers: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1".encode(), b"Authorization: Bearer " + OPERATOR.encode()]
    lines += [*headers, b"Content-Type: application/json", f"Content-Length: {len(body)}".encode()]
    return b"\r\n".join(lines)


def assert_json_error(payload: bytes, *fragments: str) -> None:
    assert_error(json.loads(payload), *fragments)


async def test_a_lone_surrogate_in_a_note_is_a_400_that_names_the_note(api: Api) -> None:
    ticket = await api.ticket()
    note = rb'"note": "before \ud800 after"'
    declare = b'{"customer": "acme", "kind": "other", "end": "2026-11-26T12:00:00Z", ' + note + b"}"
    for path, raw in (
        ("/api/v1/maintenance", declare),
        (f"/api/v1/tickets/{ticket.id}/ack", b"{" + note + b"}"),
        (f"/api/v1/tickets/{ticket.id}/resolve", b'{"cause": "network", ' + note + b"}"),
    ):
        status, _, payload = await raw_request(api, post(path, raw), raw)
        assert status == 400, payload
        assert_json_error(payload, "note holds a lone surrogate (U+D800)", "at character 7")


async def test_a_nul_or_control_character_in_a_note_is_a_400(api: Api) -> None:
    ticket = await api.ticket()
    for note in ("a\x00b", "bell\x07", "escape \x1b[31m red"):
        status, answer = await api.call(
            "POST", f"/api/v1/tickets/{ticket.id}/resolve", json={"cause": "network", "note": note}
        )
        assert status == 400
        assert_error(answer, "note holds the control character U+00")
    status, _ = await api.call(
        "POST", f"/api/v1/tickets/{ticket.id}/ack", json={"note": "line one\nline two\ttab"}
    )
    assert status == 200


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"[" * 100_000, 413, "the request body is too large: at most 65536 bytes"),
        (
            b'{"note": ' + b"[" * 60_000,
            400,
            "the request body is not valid JSON: it nests too deep",
        ),
        (b'{"note": ' + b'{"a": ' * 8_000 + b"1" + b"}" * 8_001, 400, "it nests too deeply"),
    ],
)
async def test_deeply_nested_json_is_refused_without_recursing(
    api: Api, raw: bytes, status: int, message: str
) -> None:
    answer, _, payload = await raw_request(api, post("/api/v1/maintenance", raw), raw)
    assert answer == status, payload
    assert_json_error(payload, message)


@pytest.mark.parametrize(
    ("end", "message"),
    [
        (b"1e400", "end must be an ISO 8601 time string"),
        (b"-1e400", "end must be an ISO 8601 time string"),
        (b"9" * 5000, "the request body holds a number of 5000 digits"),
        (b"-" + b"9" * 5000, "the request body holds a number of 5000 digits"),
        (b"NaN", "NaN is not a JSON value"),
        (b"Infinity", "Infinity is not a JSON value"),
        (b'"99999-01-01T00:00:00Z"', "is out of range: years run from 0001 to 9999"),
        (b'"9999-12-31T23:59:59-23:59"', "'9999-12-31T23:59:59-23:59' is out of range"),
        (b'"0001-01-01T00:00:00+14:00"', "'0001-01-01T00:00:00+14:00' is out of range"),
        (b'"' + b"2" * 5000 + b'"', "is not an ISO 8601 time"),
    ],
)
async def test_huge_numbers_and_times_out_of_range_are_a_400(
    api: Api, end: bytes, message: str
) -> None:
    raw = b'{"customer": "acme", "kind": "other", "end": ' + end + b"}"
    status, _, payload = await raw_request(api, post("/api/v1/maintenance", raw), raw)
    assert status == 400, payload
    assert_json_error(payload, message)


async def test_a_compact_iso_time_is_a_time_not_a_year_out_of_range(api: Api) -> None:
    status, window = await api.call(
        "POST", "/api/v1/maintenance", json=declaration(end="20261126T120000Z")
    )
    assert (status, window["end"]) == (201, "2026-11-26T12:00:00Z")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("limit=99999999999999999999", "limit must be a whole number from 1 to 1000"),
        ("limit=-99999999999999999999", "limit must be a whole number from 1 to 1000"),
        ("limit=1e3", "limit must be a whole number from 1 to 1000"),
        ("state=%00", "state must be one of scheduled, active, ended, cancelled"),
        ("limit=%00", "limit must be a whole number"),
        ("after=%00", "after must be the `next` value of a previous page"),
        ("after=%ED%A0%80", "after must be the `next` value of a previous page"),
        ("%00=1", "unknown query parameter(s) '\\x00'"),
        ("limit=5&limit=6", "query parameter 'limit' is given 2 times; give it once"),
    ],
)
async def test_a_bad_query_value_is_a_400(api: Api, query: str, message: str) -> None:
    status, answer = await api.call("GET", f"/api/v1/maintenance?{query}", "customer")
    assert status == 400
    assert_error(answer, message)


@pytest.mark.parametrize(
    "query",
    [
        "since=99999-01-01T00:00:00Z",
        "until=%00",
        "since=0001-01-01T00:00:00%2B14:00",
        "since=" + "9" * 5000,
    ],
)
async def test_a_bad_statistics_period_is_a_400(api: Api, query: str) -> None:
    status, answer = await api.call("GET", f"/api/v1/stats?{query}")
    assert status == 400
    assert_error(answer)


async def test_a_period_ending_in_the_first_days_of_the_calendar_starts_at_its_start(
    api: Api,
) -> None:
    status, stats = await api.call("GET", "/api/v1/stats?until=0001-01-02T00:00:00Z")
    assert status == 200
    assert (stats["since"], stats["until"]) == ("0001-01-01T00:00:00Z", "0001-01-02T00:00:00Z")


AUTHENTICATED = [
    ("GET", "/api/v1/checks"),
    ("GET", "/api/v1/maintenance"),
    ("POST", "/api/v1/maintenance"),
    ("GET", "/api/v1/maintenance/{window}"),
    ("PATCH", "/api/v1/maintenance/{window}"),
    ("DELETE", "/api/v1/maintenance/{window}"),
    ("GET", "/api/v1/tickets"),
    ("GET", "/api/v1/tickets/{ticket}"),
    ("POST", "/api/v1/tickets/{ticket}/ack"),
    ("POST", "/api/v1/tickets/{ticket}/resolve"),
    ("GET", "/api/v1/stats"),
]


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED)
async def test_an_unknown_query_parameter_is_a_400_on_every_route(
    api: Api, method: str, path: str
) -> None:
    window, ticket = await api.window(), await api.ticket()
    path = path.format(window=window.id, ticket=ticket.id)
    status, answer = await api.call(method, f"{path}?colour=red", json={})
    assert status == 400
    assert_error(answer, "unknown query parameter(s) 'colour'; expected: ")


@pytest.mark.parametrize(("method", "path"), AUTHENTICATED)
@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"Bearer caf\xe9", "the Authorization header must be `Bearer TOKEN` in printable ASCII"),
        (b"Bearer " + b"x" * 5000, "at most 4096 characters"),
        (b"Bearer to\tken", "printable ASCII"),
    ],
)
async def test_a_malformed_authorization_header_is_a_400_on_every_route(
    api: Api, method: str, path: str, header: bytes, message: str
) -> None:
    path = path.format(window="1", ticket="1")
    head = f"{method} {path} HTTP/1.1".encode() + b"\r\nAuthorization: " + header
    status, _, payload = await raw_request(api, head)
    assert status == 400, payload
    assert_json_error(payload, message)


@pytest.mark.parametrize(
    "raw",
    [b"\xff\xfe{}", b'{"note": "\xed\xa0\x80"}', b'{"note": "caf\xe9"}', b"\xef\xbb\xbf{}"],
)
async def test_a_body_that_is_not_utf8_json_is_a_400(api: Api, raw: bytes) -> None:
    ticket = await api.ticket()
    status, _, payload = await raw_request(api, post(f"/api/v1/tickets/{ticket.id}/ack", raw), raw)
    assert status == 400, payload
    assert_json_error(payload, "the request body is not valid JSON")


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate"])
async def test_a_body_whose_content_encoding_does_not_decode_is_a_400(
    api: Api, encoding: bytes
) -> None:
    ticket = await api.ticket()
    head = post(f"/api/v1/tickets/{ticket.id}/ack", b"garbage", b"Content-Encoding: " + encoding)
    status, _, payload = await raw_request(api, head, b"garbage")
    assert status == 400, payload
    assert_json_error(payload, "the request body cannot be read")


BODIES: list[tuple[str, str]] = [
    ("POST", "/api/v1/maintenance"),
    ("PATCH", "/api/v1/maintenance/{window}"),
    ("POST", "/api/v1/tickets/{ticket}/ack"),
    ("POST", "/api/v1/tickets/{ticket}/resolve"),
]


@pytest.mark.parametrize(("method", "path"), BODIES)
@pytest.mark.parametrize("body", [[], ["end"], "acme", 42, True, None, 1.5])
async def test_a_body_that_is_a_json_array_or_string_is_a_400_on_every_route(
    api: Api, method: str, path: str, body: Any
) -> None:
    window, ticket = await api.window(), await api.ticket()
    path = path.format(window=window.id, ticket=ticket.id)
    status, answer = await api.call(method, path, data=json.dumps(body).encode())
    assert status == 400
    assert_error(answer, "the request body must be a JSON object")


@pytest.mark.parametrize(("method", "path"), BODIES)
async def test_a_body_over_64_kib_is_a_413_with_a_json_error_on_every_route(
    api: Api, method: str, path: str
) -> None:
    window, ticket = await api.window(), await api.ticket()
    path = path.format(window=window.id, ticket=ticket.id)
    status, answer = await api.call(method, path, data=b" " * (64 * 1024 + 1))
    assert status == 413
    assert_error(answer, "the request body is too large: at most 65536 bytes")


async def test_a_body_of_exactly_64_kib_is_read(api: Api) -> None:
    body = json.dumps(declaration(end=later(hours=1))).encode()
    padded = body[:-1] + b" " * (64 * 1024 - len(body)) + b"}"
    assert len(padded) == 64 * 1024
    status, _ = await api.call("POST", "/api/v1/maintenance", "customer", data=padded)
    assert status == 201


async def test_an_authorization_header_of_100_kb_is_refused_and_its_token_never_logged(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = OPERATOR.encode() + b"-" + b"s" * 100_000
    head = b"GET /api/v1/tickets HTTP/1.1\r\nAuthorization: Bearer " + token
    status, _, payload = await raw_request(api, head)
    assert status == 400
    assert OPERATOR not in caplog.text and "sssssssss" not in caplog.text
    assert "refused a request that is not valid HTTP (LineTooLong)" in caplog.text
    assert b"Traceback" not in payload


@pytest.mark.parametrize(
    "head",
    [
        b"GET /api/v1/checks HTTP/1.1\r\nCookie: session=" + OPERATOR.encode() + b"c" * 9000,
        b"GET /api/v1/checks HTTP/1.1\r\nX-" + b"h" * 9000 + b": Bearer " + OPERATOR.encode(),
        b"GET /api/v1/maintenance?state=a\x00b HTTP/1.1\r\nAuthorization: Bearer "
        + OPERATOR.encode(),
        b"GET /api/v1/maintenance/\xff HTTP/1.1\r\nAuthorization: Bearer " + OPERATOR.encode(),
        b"POST /api/v1/tickets/1/ack HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
        b"Authorization: Bearer " + OPERATOR.encode() + b"\r\n\r\nzz\r\n" + OPERATOR.encode(),
    ],
)
async def test_a_request_that_is_not_valid_http_is_a_400_that_logs_no_header_value(
    api: Api, head: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, _, _ = await raw_request(api, head)
    assert status == 400
    assert OPERATOR not in caplog.text
    assert "Traceback" not in caplog.text


async def test_the_access_log_names_the_route_never_a_path_value_or_a_header(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    ticket = await api.ticket()
    await api.call("GET", f"/api/v1/tickets/{ticket.id}?colour=secret-query-value")
    await api.call("GET", "/ack/signed-ack-token-value", "nobody")
    logged = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any('"GET /api/v1/tickets/{ticket_id}" 400' in line for line in logged), logged
    assert any('"GET /ack/{token}"' in line for line in logged), logged
    assert not any(
        secret in caplog.text
        for secret in (OPERATOR, "secret-query-value", "signed-ack-token-value", "Python/")
    )
