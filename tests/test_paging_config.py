"""Paging configuration: the `paging:` section, and notify URLs checked by Apprise itself."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest

from sitewatch.config.loader import ConfigError, Settings, load_settings, validate_notify_url
from tests.harness import ENV, ServiceConfig

SIGNING_KEY = "0123456789abcdef0123456789abcdef-signing"


def settings(
    tmp_path: Path, *, notify: str = "json://127.0.0.1:9/pages", extra: str = ""
) -> Settings:
    return load_settings(ServiceConfig(tmp_path, notify=notify, extra=extra).write(), ENV)


def problems(tmp_path: Path, **options: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        settings(tmp_path, **options)
    return [str(problem) for problem in caught.value.problems]


def line_of(tmp_path: Path, text: str) -> int:
    lines = (tmp_path / "sitewatch.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if text in line)


def test_paging_has_safe_defaults(tmp_path: Path) -> None:
    paging = settings(tmp_path).paging

    assert (paging.max_attempts, paging.retry_initial, paging.retry_max) == (
        8,
        timedelta(seconds=10),
        timedelta(minutes=10),
    )
    assert (paging.fallback, paging.ack_link_ttl, paging.signing_key) == (
        (),
        timedelta(hours=24),
        None,
    )


def test_the_paging_section_is_read_and_its_fallback_and_key_are_secrets(tmp_path: Path) -> None:
    loaded = settings(
        tmp_path,
        extra=(
            "paging:\n"
            "  max_attempts: 3\n"
            "  retry_initial: 5s\n"
            "  retry_max: 1m\n"
            '  fallback: ["json://127.0.0.1:9/fallback"]\n'
            "  ack_link_ttl: 2h\n"
            f"  signing_key: {SIGNING_KEY}\n"
        ),
    )

    paging = loaded.paging
    assert (paging.max_attempts, paging.retry_initial, paging.retry_max) == (
        3,
        timedelta(seconds=5),
        timedelta(minutes=1),
    )
    assert paging.fallback == ("json://127.0.0.1:9/fallback",)
    assert paging.ack_link_ttl == timedelta(hours=2)
    assert {"json://127.0.0.1:9/fallback", SIGNING_KEY} <= loaded.secrets
    assert SIGNING_KEY not in repr(loaded)


def test_a_notify_url_apprise_cannot_use_stops_start_up_at_its_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = "pagerbeam://hunter2@pager.example"

    with caplog.at_level(logging.DEBUG):
        found = problems(tmp_path, notify=url)

    line = line_of(tmp_path, "notify:")
    assert found == [
        f"{tmp_path / 'sitewatch.yaml'}:{line}: operators[0].notify[0]: Apprise cannot use this"
        " URL (an unknown service or a missing part); see"
        " https://github.com/caronc/apprise/wiki for the form of each service"
    ]
    assert "hunter2" not in caplog.text


def test_a_fallback_url_is_checked_like_any_notify_url(tmp_path: Path) -> None:
    found = problems(tmp_path, extra='paging:\n  fallback: ["slack://x"]\n')

    assert len(found) == 1
    assert f":{line_of(tmp_path, 'fallback:')}: paging.fallback[0]: Apprise cannot use" in found[0]


@pytest.mark.parametrize(
    ("extra", "key", "message"),
    [
        (
            "paging:\n  retry_initial: 1m\n  retry_max: 10s\n",
            "paging.retry_max",
            "must not be shorter than retry_initial (1m), got 10s",
        ),
        (
            "paging:\n  signing_key: short-key\n",
            "paging.signing_key",
            "must be at least 32 characters (generate one with `openssl rand -hex 32`)",
        ),
        ("paging:\n  max_attempts: 0\n", "paging.max_attempts", "must be at least 1, got"),
        ("paging:\n  ack_link_ttl: 0s\n", "paging.ack_link_ttl", ""),
        ("paging:\n  retries: 3\n", "paging.retries", "unknown key 'retries'"),
    ],
)
def test_a_bad_paging_value_is_reported_at_its_key(
    tmp_path: Path, extra: str, key: str, message: str
) -> None:
    [problem] = problems(tmp_path, extra=extra)

    assert f": {key}: {message}" in problem
    assert "short-key" not in problem


@pytest.mark.parametrize(
    "url",
    ["json://127.0.0.1:9000/pages", "mailtos://user:pw@example.com", "tgram://1:abcdefg/1234/"],
)
def test_urls_apprise_accepts_pass(url: str) -> None:
    assert validate_notify_url(url) is None


@pytest.mark.parametrize("url", ["nosuch://x", "http://foo", "mailto://@", "slack://x"])
def test_urls_apprise_refuses_are_reported_without_repeating_them(url: str) -> None:
    message = validate_notify_url(url)

    assert message is not None and url not in message
