"""The config and check files: what loads, and every mistake as FILE:LINE: key: message."""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest

from sitewatch.config.loader import (
    ConfigError,
    ConfigProblem,
    Settings,
    default_config_path,
    load_settings,
    validate_notify_url,
)
from sitewatch.model import Method

REPO = Path(__file__).resolve().parent.parent

CONFIG = """\
checks: ../checks
customers:
  - id: acme
    name: Acme Corp
    token: acme-token
operators:
  - id: alice
    token: alice-token
    notify: ["json://127.0.0.1:9000/pages"]
escalation:
  levels:
    - after: 0s
      notify: [alice]
"""

CHECK = """\
id: acme-portal
customer: acme
name: Acme portal
steps:
  - get: "https://portal.acme.example/login"
"""


class Site:
    """A config directory and a checks directory in a temporary working directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "config").mkdir()
        (root / "checks").mkdir()
        self.config(CONFIG)

    def config(self, text: str) -> None:
        (self.root / "config" / "sitewatch.yaml").write_text(dedent(text))

    def check(self, name: str, text: str) -> None:
        (self.root / "checks" / name).write_text(dedent(text))

    def load(self, environ: dict[str, str] | None = None) -> Settings:
        return load_settings(Path("config/sitewatch.yaml"), environ or {})

    def problems(self, environ: dict[str, str] | None = None) -> list[str]:
        with pytest.raises(ConfigError) as caught:
            self.load(environ)
        assert str(caught.value) == "\n".join(str(p) for p in caught.value.problems)
        return [str(problem) for problem in caught.value.problems]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    monkeypatch.chdir(tmp_path)
    return Site(tmp_path)


# What loads.


def test_the_example_config_and_checks_load_when_their_variables_are_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "checks", tmp_path / "checks")
    monkeypatch.chdir(tmp_path)
    names = re.findall(r"\$\{([A-Z0-9_]+)\}", _yaml_without_comments(tmp_path))
    environ = {name: f"secret-{name.lower()}" for name in names}

    settings = load_settings(Path("config/sitewatch.yaml"), environ)

    assert [c.id for c in settings.customers] == ["acme", "globex"]
    assert [o.id for o in settings.operators] == ["alice", "bob"]
    assert [c.id for c in settings.checks] == ["acme-api", "acme-portal", "globex-webmail"]
    assert settings.database.path == tmp_path.resolve() / "var" / "sitewatch.db"
    assert settings.checks_dir == tmp_path.resolve() / "checks"
    assert set(environ.values()) <= settings.secrets
    portal = settings.check("acme-portal")
    assert portal is not None
    assert portal.steps[1].form == {
        "user": "secret-acme_probe_user",
        "password": "secret-acme_probe_password",
        "csrf": "{csrf}",
    }
    assert portal.secrets == {"secret-acme_probe_user", "secret-acme_probe_password"}


def _yaml_without_comments(root: Path) -> str:
    lines = [line for path in root.rglob("*.yaml") for line in path.read_text().splitlines()]
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def test_a_minimal_config_takes_the_documented_defaults(site: Site) -> None:
    site.check("acme-portal.yaml", CHECK)

    settings = site.load()

    assert (settings.listen_host, settings.listen_port) == ("127.0.0.1", 8080)
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.database.path == (site.root / "config" / "var" / "sitewatch.db").resolve()
    assert settings.max_concurrent_probes == 256
    assert settings.result_retention == timedelta(days=7)
    assert settings.defaults.interval == timedelta(seconds=30)
    assert settings.defaults.maintenance_max == timedelta(hours=24)
    assert (settings.prober_fault.ratio, settings.prober_fault.min_checks) == (0.8, 5)
    assert settings.escalation.repeat_every == timedelta(minutes=5)
    check = settings.check("acme-portal")
    assert check is not None
    assert (check.interval, check.timeout, check.confirm, check.recover) == (
        timedelta(seconds=30),
        timedelta(seconds=10),
        2,
        2,
    )
    assert check.steps[0].method is Method.GET
    assert check.steps[0].expect.status == (200,)
    assert settings.check("nope") is None


def test_checks_fall_back_to_the_config_defaults_and_may_override_them(site: Site) -> None:
    site.config(
        CONFIG
        + dedent("""\
            defaults:
              interval: 1m
              retry_interval: 250ms
              recover: 3
            """)
    )
    site.check("acme-portal.yaml", CHECK + "confirm: 4\ntimeout: 20\n")

    check = site.load().checks[0]

    assert check.interval == timedelta(minutes=1)
    assert check.retry_interval == timedelta(milliseconds=250)
    assert (check.confirm, check.recover, check.timeout) == (4, 3, timedelta(seconds=20))


def test_a_relative_sqlite_path_is_relative_to_the_config_file(site: Site) -> None:
    site.config(CONFIG + 'database: "sqlite:///../var/data/sitewatch.db"\n')

    assert site.load().database.path == (site.root / "var" / "data" / "sitewatch.db").resolve()


def test_an_absolute_sqlite_path_is_taken_as_it_is(site: Site) -> None:
    site.config(CONFIG + 'database: "sqlite:////srv/sitewatch/sitewatch.db"\n')

    assert site.load().database.path == Path("/srv/sitewatch/sitewatch.db")


def test_a_step_may_post_json_and_use_values_extracted_earlier(site: Site) -> None:
    site.check(
        "acme-api.yaml",
        """\
        id: acme-api
        customer: acme
        name: Acme API
        steps:
          - post: "https://api.acme.example/login"
            json: {user: "${API_USER}", tags: [probe]}
            extract: {token: '"token": "([^"]+)"'}
            expect: {status: [200, 201], max_time: 2s}
          - get: "https://api.acme.example/me"
            headers: {Authorization: "Bearer {token}"}
            follow_redirects: true
        """,
    )

    check = site.load({"API_USER": "probe-user"}).checks[0]

    assert check.steps[0].method is Method.POST
    assert check.steps[0].json == {"user": "probe-user", "tags": ["probe"]}
    assert check.steps[0].sends_credentials
    assert check.steps[0].extract["token"].pattern == '"token": "([^"]+)"'
    assert check.steps[0].expect.status == (200, 201)
    assert check.steps[0].expect.max_time == timedelta(seconds=2)
    assert check.steps[1].headers == {"Authorization": "Bearer {token}"}
    assert check.steps[1].follow_redirects
    assert check.secrets == {"probe-user"}


def test_every_token_notify_url_and_environment_value_is_a_secret(site: Site) -> None:
    site.config(CONFIG.replace("acme-token", "${ACME_API_TOKEN}"))
    site.check("acme-portal.yaml", CHECK.replace("/login", "/login?key=${PORTAL_KEY}"))

    settings = site.load({"ACME_API_TOKEN": "t-acme", "PORTAL_KEY": "k-portal"})

    assert settings.secrets == {
        "t-acme",
        "alice-token",
        "json://127.0.0.1:9000/pages",
        "k-portal",
    }
    assert "t-acme" not in repr(settings.customers)


def test_a_doubled_dollar_keeps_a_literal_dollar_brace(site: Site) -> None:
    site.config(CONFIG.replace("Acme Corp", "Acme $${NOT_A_VARIABLE}"))

    assert site.load().customers[0].name == "Acme ${NOT_A_VARIABLE}"


def test_yaml_anchors_and_merge_keys_are_understood(site: Site) -> None:
    site.check(
        "acme-portal.yaml",
        """\
        id: acme-portal
        customer: acme
        name: Acme portal
        steps:
          - get: "https://portal.acme.example/login"
            expect: &ok {status: 200, body_contains: Login}
          - get: "https://portal.acme.example/help"
            expect:
              <<: *ok
              body_contains: Help
        """,
    )

    steps = site.load().checks[0].steps

    assert steps[1].expect.status == (200,)
    assert steps[1].expect.body_contains == "Help"


def test_the_config_path_comes_from_the_environment_or_the_default() -> None:
    assert default_config_path({}) == Path("config/sitewatch.yaml")
    assert default_config_path({"SITEWATCH_CONFIG": "/etc/sw.yaml"}) == Path("/etc/sw.yaml")


def test_a_notify_url_needs_a_scheme_and_never_echoes_the_url() -> None:
    assert validate_notify_url("mailtos://user:pw@example.com") is None
    message = validate_notify_url("alice@example.com")
    assert message is not None
    assert "alice@example.com" not in message


def test_a_problem_renders_as_file_line_key_message() -> None:
    problem = ConfigProblem(Path("config/sitewatch.yaml"), 3, "customers[0].token", "bad")

    assert str(problem) == "config/sitewatch.yaml:3: customers[0].token: bad"


# Mistakes in the config file, each with its exact message.


def test_an_unknown_key_is_named_with_the_keys_that_are_expected(site: Site) -> None:
    site.config(CONFIG.replace("    token: acme-token", "    tokne: acme-token"))

    assert site.problems() == [
        "config/sitewatch.yaml:3: customers[0].token: required key 'token' is missing",
        "config/sitewatch.yaml:5: customers[0].tokne: "
        "unknown key 'tokne' (expected one of: id, name, token, timezone)",
    ]


def test_a_duplicate_key_is_reported_at_the_second_occurrence(site: Site) -> None:
    site.config(
        """\
        listen: "127.0.0.1:8080"
        checks: ../checks
        listen: "0.0.0.0:8080"
        """
    )

    assert site.problems() == [
        "config/sitewatch.yaml:3: listen: duplicate key 'listen' (first defined on line 1)"
    ]


def test_a_value_of_the_wrong_type_says_what_was_expected_and_what_came(site: Site) -> None:
    site.config(
        CONFIG
        + dedent("""\
            max_concurrent_probes: many
            defaults:
              confirm: "2"
            prober_fault:
              ratio: 1.5
            """)
    )

    assert site.problems() == [
        "config/sitewatch.yaml:14: max_concurrent_probes: "
        "expected an integer, got the string 'many'",
        "config/sitewatch.yaml:16: defaults.confirm: "
        "expected an integer, got the string '2' (remove the quotes to make it a number)",
        "config/sitewatch.yaml:18: prober_fault.ratio: must be at most 1.0, got the number 1.5",
    ]


def test_a_bad_duration_names_the_accepted_forms(site: Site) -> None:
    site.config(
        CONFIG
        + dedent("""\
            defaults:
              interval: 30 seconds
              timeout: 0s
            """)
    )

    assert site.problems() == [
        "config/sitewatch.yaml:15: defaults.interval: expected a duration such as 30s, 5m, "
        "2h, 1d, 250ms or a number of seconds, got '30 seconds'",
        "config/sitewatch.yaml:16: defaults.timeout: must be longer than 0s",
    ]


def test_a_missing_required_key_is_reported_at_its_parent(site: Site) -> None:
    site.config(CONFIG.replace("    name: Acme Corp\n", ""))

    assert site.problems() == [
        "config/sitewatch.yaml:3: customers[0].name: required key 'name' is missing"
    ]


def test_a_missing_environment_variable_is_reported_where_it_is_used(site: Site) -> None:
    site.config(CONFIG.replace("acme-token", "${ACME_API_TOKEN}"))

    assert site.problems() == [
        "config/sitewatch.yaml:5: customers[0].token: "
        "environment variable ACME_API_TOKEN is not set"
    ]


def test_an_invalid_id_says_what_ids_look_like(site: Site) -> None:
    site.config(CONFIG.replace("id: acme", "id: Acme_Corp"))

    assert site.problems() == [
        "config/sitewatch.yaml:3: customers[0].id: 'Acme_Corp' is not a valid id: "
        "use lower-case letters, digits and dashes (such as acme-portal)"
    ]


def test_an_unknown_operator_in_escalation_lists_the_operators(site: Site) -> None:
    site.config(CONFIG.replace("notify: [alice]", "notify: [alice, carol]"))

    assert site.problems() == [
        "config/sitewatch.yaml:13: escalation.levels[0].notify[1]: "
        "unknown operator 'carol' (operators: alice)"
    ]


def test_escalation_levels_must_not_go_back_in_time(site: Site) -> None:
    site.config(
        """\
        checks: ../checks
        operators:
          - id: alice
            token: alice-token
            notify: ["json://127.0.0.1:9000/pages"]
        escalation:
          levels:
            - after: 0s
              notify: [alice]
            - after: 10m
              notify: [alice]
            - after: 5m
              notify: [alice]
        """
    )

    assert site.problems() == [
        "config/sitewatch.yaml:12: escalation.levels[2].after: "
        "must not be earlier than the level before it"
    ]


def test_operators_without_escalation_levels_would_never_be_paged(site: Site) -> None:
    site.config(CONFIG.partition("escalation:")[0])

    assert site.problems() == [
        "config/sitewatch.yaml:1: escalation.levels: "
        "at least one level is needed to page the operators"
    ]


def test_ids_must_be_unique_and_tokens_must_not_be_shared(site: Site) -> None:
    site.config(
        CONFIG.replace(
            "escalation:",
            """\
  - id: alice
    token: acme-token
    notify: ["json://127.0.0.1:9000/pages"]
escalation:""",
        )
    )

    assert site.problems() == [
        "config/sitewatch.yaml:10: operators[1].id: duplicate id 'alice' (first used on line 7)",
        "config/sitewatch.yaml:11: operators[1].token: the same token as customers[0].token: "
        "every customer and operator needs a token of its own",
    ]


def test_listen_database_and_public_url_must_have_their_forms(site: Site) -> None:
    site.config(
        CONFIG
        + dedent("""\
            listen: 8080
            database: "mysql://db/sitewatch"
            public_url: "sitewatch.example.com"
            """)
    )

    assert site.problems() == [
        'config/sitewatch.yaml:14: listen: expected "host:port" such as "127.0.0.1:8080", got 8080',
        "config/sitewatch.yaml:15: database: 'mysql://db/sitewatch' is not a database URL "
        "sitewatch knows: use sqlite:///relative/path.db, sqlite:////absolute/path.db or "
        "postgresql://user:password@host:port/dbname",
        "config/sitewatch.yaml:16: public_url: "
        "expected an absolute http:// or https:// URL, got 'sitewatch.example.com'",
    ]


def test_a_bad_value_from_the_environment_is_not_echoed(site: Site) -> None:
    site.config(CONFIG + 'listen: "${LISTEN}"\n')

    assert site.problems({"LISTEN": "hunter2"}) == [
        "config/sitewatch.yaml:14: listen: "
        'expected "host:port" such as "127.0.0.1:8080", got a value from the environment'
    ]


def test_a_notify_url_without_a_scheme_is_an_error(site: Site) -> None:
    site.config(CONFIG.replace('"json://127.0.0.1:9000/pages"', "alice@example.com"))

    assert site.problems() == [
        "config/sitewatch.yaml:9: operators[0].notify[0]: expected an Apprise URL such as "
        "mailto://user@example.com or json://host:port/path"
    ]


def test_a_yaml_syntax_error_is_reported_with_its_line(site: Site) -> None:
    site.config(
        """\
        checks: ../checks
        customers:
          - id: acme
            name: "Acme Corp
        """
    )

    assert site.problems() == [
        "config/sitewatch.yaml:5: invalid YAML: found unexpected end of stream "
        "(while scanning a quoted scalar that starts on line 4)"
    ]


def test_a_control_character_is_a_located_problem_not_a_crash(site: Site) -> None:
    site.check("bell.yaml", 'id: bell\nname: "ring \x07"\n')

    assert site.problems() == [
        "checks/bell.yaml:2: invalid YAML: control characters are not allowed"
    ]


def test_a_credential_of_the_wrong_shape_is_never_echoed(site: Site) -> None:
    site.config(
        """\
        checks: ../checks
        customers:
          - {id: acme, name: Acme, token: 12345}
        operators:
          - {id: alice, token: alice-token, notify: "mailto://alice:hunter2@example.com"}
        escalation:
          levels: [{after: 0s, notify: [alice]}]
        """
    )

    problems = site.problems()

    assert problems == [
        "config/sitewatch.yaml:3: customers[0].token: expected a string, "
        "got a value not shown here (it may hold a secret)",
        "config/sitewatch.yaml:5: operators[0].notify: expected a list, "
        "got a value not shown here (it may hold a secret)",
    ]


def test_a_missing_checks_directory_is_reported_at_the_checks_key(site: Site) -> None:
    site.config(CONFIG.replace("checks: ../checks", "checks: ../probes"))

    assert site.problems() == ["config/sitewatch.yaml:1: checks: directory probes does not exist"]


def test_a_missing_config_file_is_reported_without_a_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.yaml", {})

    assert (
        str(caught.value)
        == f"{tmp_path}/nope.yaml: cannot read the file: No such file or directory"
    )


# Mistakes in check files, each with its exact message.


def test_a_check_naming_an_unknown_customer_lists_the_customers(site: Site) -> None:
    site.check("initech.yaml", CHECK.replace("customer: acme", "customer: initech"))

    assert site.problems() == [
        "checks/initech.yaml:2: customer: unknown customer 'initech' (customers: acme)"
    ]


def test_a_check_id_used_twice_is_reported_in_the_second_file(site: Site) -> None:
    site.check("a.yaml", CHECK)
    site.check("b.yml", "# the same check again\n" + CHECK)

    assert site.problems() == [
        "checks/b.yml:2: id: duplicate check id 'acme-portal' (already used in checks/a.yaml:1)"
    ]


def test_an_extract_regex_must_compile_and_capture_a_group(site: Site) -> None:
    site.check(
        "acme-portal.yaml",
        """\
        id: acme-portal
        customer: acme
        name: Acme portal
        steps:
          - get: "https://portal.acme.example/login"
            extract:
              csrf: 'value="([^"]+"'
              session: 'session=\\w+'
        """,
    )

    assert site.problems() == [
        "checks/acme-portal.yaml:7: steps[0].extract.csrf: "
        "invalid regular expression: missing ), unterminated subpattern at position 7",
        "checks/acme-portal.yaml:8: steps[0].extract.session: "
        'the regular expression needs a group, such as value="([^"]+)"',
    ]


def test_an_extract_regex_must_run_in_linear_time(site: Site) -> None:
    # Extract patterns run on bodies a site chose: RE2 must take them (issue 11).
    site.check(
        "acme-portal.yaml",
        """\
        id: acme-portal
        customer: acme
        name: Acme portal
        steps:
          - get: "https://portal.acme.example/login"
            extract:
              csrf: '(["x])([^"]+)\\1'
              nonce: 'nonce=(?=\\d)(\\w+)'
              token: '(?s)token="(.*?)"'
        """,
    )

    linear = "backreferences and lookaround are not available"
    assert site.problems() == [
        "checks/acme-portal.yaml:7: steps[0].extract.csrf: RE2 cannot run this regular "
        f"expression in linear time (invalid escape sequence: \\1): {linear}",
        "checks/acme-portal.yaml:8: steps[0].extract.nonce: RE2 cannot run this regular "
        f"expression in linear time (invalid perl operator: (?=): {linear}",
    ]


def test_a_placeholder_must_be_extracted_by_an_earlier_step(site: Site) -> None:
    site.check(
        "acme-portal.yaml",
        """\
        id: acme-portal
        customer: acme
        name: Acme portal
        steps:
          - get: "https://portal.acme.example/login?next={next}"
            extract: {csrf: 'csrf=(\\w+)'}
            headers: {X-Csrf: "{csrf}"}
          - post: "https://portal.acme.example/login"
            form: {csrf: "{csrf}", nonce: "{nonce}"}
          - get: "https://portal.acme.example/account"
            extract: {nonce: 'nonce=(\\w+)'}
        """,
    )

    assert site.problems() == [
        "checks/acme-portal.yaml:5: steps[0].get: {next} is not extracted by any step",
        "checks/acme-portal.yaml:7: steps[0].headers.X-Csrf: "
        "{csrf} is extracted by this step, so only later steps can use it",
        "checks/acme-portal.yaml:9: steps[1].form.nonce: "
        "{nonce} is extracted only later, by steps[2]",
    ]


def test_a_step_is_either_get_or_post_and_sends_form_or_json(site: Site) -> None:
    site.check(
        "acme-portal.yaml",
        """\
        id: acme-portal
        customer: acme
        name: Acme portal
        steps:
          - get: "https://portal.acme.example/login"
            post: "https://portal.acme.example/login"
          - post: "https://portal.acme.example/login"
            form: {user: probe}
            json: {user: probe}
          - get: "https://portal.acme.example/search"
            form: {q: probe}
          - expect: {status: 200}
        """,
    )

    assert site.problems() == [
        "checks/acme-portal.yaml:6: steps[0].post: a step is either get or post, not both",
        "checks/acme-portal.yaml:9: steps[1].json: a step sends form or json, not both",
        "checks/acme-portal.yaml:11: steps[2].form: only a post step can send form",
        "checks/acme-portal.yaml:12: steps[3]: a step needs get: URL or post: URL",
    ]


def test_a_step_url_must_be_absolute_http(site: Site) -> None:
    site.check("acme-portal.yaml", CHECK.replace("https://portal.acme.example", "portal.acme"))

    assert site.problems() == [
        "checks/acme-portal.yaml:5: steps[0].get: "
        "expected an absolute http:// or https:// URL, got 'portal.acme/login'"
    ]


def test_expected_statuses_are_http_codes(site: Site) -> None:
    site.check(
        "acme-portal.yaml",
        """\
        id: acme-portal
        customer: acme
        name: Acme portal
        steps:
          - get: "https://portal.acme.example/login"
            expect: {status: [200, 99], cookie: 5}
        """,
    )

    assert site.problems() == [
        "checks/acme-portal.yaml:6: steps[0].expect.status[1]: "
        "must be at least 100, got the number 99",
        "checks/acme-portal.yaml:6: steps[0].expect.cookie: "
        "expected a string, got the number 5 (put it in quotes to make it a string)",
    ]


def test_a_check_without_steps_or_name_is_reported_at_the_top(site: Site) -> None:
    site.check("acme-portal.yaml", "# nothing yet\nid: acme-portal\ncustomer: acme\n")

    assert site.problems() == [
        "checks/acme-portal.yaml:2: name: required key 'name' is missing",
        "checks/acme-portal.yaml:2: steps: required key 'steps' is missing",
    ]


def test_an_empty_check_file_is_an_error(site: Site) -> None:
    site.check("empty.yaml", "# to do\n")

    assert site.problems() == [
        "checks/empty.yaml:1: expected a mapping of keys to values, got nothing (an empty value)"
    ]


def test_a_missing_variable_is_reported_once_even_where_a_url_is_expected(site: Site) -> None:
    site.check("acme-portal.yaml", CHECK.replace('"https://portal.acme.example/login"', "${URL}"))

    assert site.problems() == [
        "checks/acme-portal.yaml:5: steps[0].get: environment variable URL is not set"
    ]


# All problems at once.


def test_every_problem_in_every_file_is_reported_at_once(site: Site) -> None:
    site.config(
        CONFIG.replace("acme-token", "${ACME_API_TOKEN}").replace("0s", "soon")
        + "listen: localhost\n"
    )
    site.check("a.yaml", CHECK.replace("acme-portal", "Portal"))
    site.check("b.yaml", CHECK.replace("customer: acme", "customer: initech"))
    site.check("c.yaml", "id: [broken\n")

    assert site.problems() == [
        "config/sitewatch.yaml:5: customers[0].token: "
        "environment variable ACME_API_TOKEN is not set",
        "config/sitewatch.yaml:12: escalation.levels[0].after: expected a duration such as "
        "30s, 5m, 2h, 1d, 250ms or a number of seconds, got 'soon'",
        "config/sitewatch.yaml:14: listen: "
        'expected "host:port" such as "127.0.0.1:8080", got \'localhost\'',
        "checks/a.yaml:1: id: 'Portal' is not a valid id: "
        "use lower-case letters, digits and dashes (such as acme-portal)",
        "checks/b.yaml:2: customer: unknown customer 'initech' (customers: acme)",
        "checks/c.yaml:2: invalid YAML: did not find expected ',' or ']' "
        "(while parsing a flow sequence that starts on line 1)",
    ]
