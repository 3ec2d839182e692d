"""Acknowledge links: signed, expiring, scoped to one ticket and one operator."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest

from sitewatch.paging.links import (
    SIGNING_KEY_META,
    AckGrant,
    AckLinks,
    Problem,
    Refusal,
    signing_key,
)
from sitewatch.storage.sqlite import open_sqlite_store
from tests.paging_support import KEY, at, links

OPERATORS = frozenset({"alice", "bob"})
"""The operators in the config when a link is followed."""


def test_a_token_grants_acknowledging_its_ticket_as_its_operator_until_it_expires() -> None:
    token = links().token("12", "alice", at(0))

    assert links().verify(token, at(60), operators=OPERATORS) == AckGrant(
        "12", "alice", at(24 * 60)
    )


def test_a_link_is_the_public_url_then_ack_then_the_token() -> None:
    url = links().url("12", "alice", at(0))

    assert url == f"https://sitewatch.example/ack/{links().token('12', 'alice', at(0))}"
    assert len(url) < 120


def test_a_link_dies_with_its_operator_however_well_signed() -> None:
    token = links().token("12", "alice", at(0))

    refusal = links().verify(token, at(1), operators={"bob"})

    assert isinstance(refusal, Refusal) and refusal.problem is Problem.REVOKED
    assert "sent to alice, who is no longer an operator" in refusal.message
    assert links().verify(token, at(1), operators={"alice"}) == AckGrant("12", "alice", at(24 * 60))


def test_an_expired_token_is_refused_with_when_it_expired() -> None:
    token = links(ttl=timedelta(hours=1)).token("12", "alice", at(0))

    refusal = links().verify(token, at(60), operators=OPERATORS)

    assert isinstance(refusal, Refusal) and refusal.problem is Problem.EXPIRED
    assert "expired at 2026-11-26T11:00:00+00:00" in refusal.message


def forge(token: str, payload: bytes) -> str:
    """Replace a token's payload, keeping its signature."""
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    return f"{encoded}.{token.split('.')[1]}"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: forge(t, b"13:alice:1795000000"), id="another ticket"),
        pytest.param(lambda t: forge(t, b"12:mallory:1795000000"), id="another operator"),
        pytest.param(lambda t: forge(t, b"12:alice:4102444800"), id="a later expiry"),
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="signature"),
    ],
)
def test_a_tampered_token_is_refused_as_forged(change: object) -> None:
    token = links().token("12", "alice", at(0))

    refusal = links().verify(change(token), at(1), operators=OPERATORS)  # type: ignore[operator]

    assert isinstance(refusal, Refusal) and refusal.problem is Problem.FORGED


def test_a_token_signed_with_another_key_is_refused() -> None:
    other = AckLinks(b"x" * 32, public_url="https://sitewatch.example", ttl=timedelta(days=1))

    refusal = links().verify(other.token("12", "alice", at(0)), at(1), operators=OPERATORS)

    assert isinstance(refusal, Refusal) and refusal.problem is Problem.FORGED


@pytest.mark.parametrize(
    "token",
    ["", ".", "abc", "a.b.c", "!!!.???", "x" * 300, "MTI6YWxpY2U.", "a" * 20 + "." + "b" * 22],
)
def test_anything_that_is_not_a_token_is_refused_as_malformed(token: str) -> None:
    refusal = links().verify(token, at(1), operators=OPERATORS)

    assert isinstance(refusal, Refusal)
    assert refusal.problem in (Problem.MALFORMED, Problem.FORGED)


def test_a_well_signed_payload_of_the_wrong_form_is_malformed() -> None:
    signer = links()
    token = signer.token("12", "alice", at(0))
    payload = b"12:Alice Smith:1795000000"  # not an operator id
    forged = forge(token, payload)
    mac = signer._mac(payload)
    resigned = f"{forged.split('.')[0]}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    refusal = signer.verify(resigned, at(1), operators=OPERATORS)

    assert isinstance(refusal, Refusal) and refusal.problem is Problem.MALFORMED


def test_a_configured_key_wins_over_the_stored_one() -> None:
    configured = signing_key("a-configured-key-of-at-least-32-chars!", KEY.hex())

    assert configured != KEY
    assert signing_key(None, KEY.hex()) == KEY


async def test_the_generated_key_is_stored_once_so_links_survive_a_restart(
    tmp_path: Path,
) -> None:
    store = await open_sqlite_store(tmp_path / "sw.db")
    async with store.transaction() as tx:
        first = await tx.cluster.secret(SIGNING_KEY_META, "aa" * 32)
    await store.close()
    store = await open_sqlite_store(tmp_path / "sw.db")
    try:
        async with store.transaction() as tx:
            second = await tx.cluster.secret(SIGNING_KEY_META, "bb" * 32)
    finally:
        await store.close()

    assert first == second == "aa" * 32
