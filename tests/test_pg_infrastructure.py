"""How the tests find PostgreSQL: a missing server is a failure under CI, a skip elsewhere."""

from __future__ import annotations

import pytest

from tests import pg_fixtures
from tests.pg import with_database


def test_no_postgresql_fails_the_tests_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(pg_fixtures, "find_binaries", lambda: None)
    with pytest.raises(pytest.fail.Exception, match="install-test-deps"):
        pg_fixtures.start_throwaway()


def test_no_postgresql_skips_the_tests_elsewhere_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(pg_fixtures, "find_binaries", lambda: None)
    with pytest.raises(pytest.skip.Exception, match="SITEWATCH_TEST_PG"):
        pg_fixtures.start_throwaway()


def test_a_test_database_url_keeps_everything_but_the_database_name() -> None:
    url = "postgresql://admin:pw@db.example:6543/postgres?sslmode=require"
    assert with_database(url, "sitewatch_test_1") == (
        "postgresql://admin:pw@db.example:6543/sitewatch_test_1?sslmode=require"
    )
