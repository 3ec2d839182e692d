"""The web console end to end: Debian's Chromium (Playwright) against `sitewatch run`.

One real service for the module, on a SQLite file: acme's portal fails (a closed
port: down, with an open ticket), acme's shop and globex's webmail log on to a
simulated site (up). acme's time zone is Europe/Berlin. People log on through the
form, click, type, and read what a person would read; the JSON API is the witness.
The two-instance test starts its own pair of services on one PostgreSQL database.

Screenshots of every page (desktop and a 390x844 phone) go to pytest's temp dir;
`SITEWATCH_UPDATE_SCREENSHOTS=1` copies them to docs/console/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from sitewatch.storage.urls import DatabaseUrl
from tests.console_live import call, running, site_in_thread, wait_until
from tests.harness import (
    CUSTOMER_TOKEN,
    GLOBEX_TOKEN,
    OPERATOR_TOKEN,
    ServiceConfig,
    logon_check,
)

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "console"
BERLIN = ZoneInfo("Europe/Berlin")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Launch Debian's Chromium once for the module (never a downloaded browser).

    Missing, it is a failure under CI and a skip elsewhere. Playwright stops with the
    module: its sync API marks its event loop running in this thread while it lives.
    """
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: scripts/install-test-deps installs Debian's chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ]
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=args, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Live:
    """The running service and its base URL."""

    url: str

    def api(self, method: str, path: str, token: str = OPERATOR_TOKEN, body: Any = None) -> Any:
        """Call the JSON API; return (status, JSON)."""
        return call(self.url + path, method, token, body)

    def open_ticket(self, states: str = "open,acknowledged") -> dict[str, Any]:
        """Return portal's latest ticket in one of these states, as the API shows it."""
        status, body = self.api("GET", f"/api/v1/tickets?state={states}")
        assert status == 200, body
        return next(t for t in body["tickets"] if t["check"] == "portal")


def with_berlin_acme(config: ServiceConfig) -> None:
    """Write the config, giving acme the time zone Europe/Berlin."""
    path = config.write()
    text = path.read_text()
    acme = 'name: Acme Corp, token: "${TEST_CUSTOMER_TOKEN}"'
    assert acme in text
    path.write_text(text.replace(acme, acme + ", timezone: Europe/Berlin"))


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    with site_in_thread() as site:
        checks = {
            "portal": logon_check("portal", "http://127.0.0.1:9"),
            "shop": logon_check("shop", site),
            "webmail": logon_check("webmail", site, customer="globex"),
        }
        config = ServiceConfig(tmp_path_factory.mktemp("console"), checks=checks)
        with_berlin_acme(config)
        with running(config):
            service = Live(config.url)
            wait_until("portal down with a ticket, shop and webmail up", lambda: _settled(service))
            yield service


def _settled(live: Live) -> bool | None:
    _, checks = live.api("GET", "/api/v1/checks")
    states = {c["id"]: c["state"] for c in checks["checks"]}
    _, tickets = live.api("GET", "/api/v1/tickets?state=open")
    wanted = {"portal": "down", "shop": "up", "webmail": "up"}
    return True if states == wanted and tickets["tickets"] else None


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def log_on(page: Page, live: Live, token: str) -> None:
    """Log on through the form as a person would."""
    page.goto(live.url + "/")
    expect(page).to_have_title("Log on - sitewatch")
    field(page, "API token").fill(token)
    page.get_by_role("button", name="Log on").click()
    expect(page).to_have_title("Overview - sitewatch")


def field(page: Page, label: str) -> Locator:
    """Find a form field by the start of its label (labels go on with a zone or a hint)."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\b"))


def berlin_input(at: datetime) -> str:
    """Return what a person in Berlin types into a date-and-time field for `at`."""
    return f"{at.astimezone(BERLIN):%Y-%m-%dT%H:%M}"


def declare(page: Page, live: Live, *, end: datetime, start: datetime | None = None) -> str:
    """Declare a software upgrade of portal through the form; return the new window's id."""
    page.goto(live.url + "/windows/new")
    field(page, "Kind").select_option("software-upgrade")
    field(page, "portal").check()
    if start is not None:
        field(page, "Start").fill(berlin_input(start))
    field(page, "End").fill(berlin_input(end))
    field(page, "Note").fill("database <upgrade> & reboot")
    page.get_by_role("button", name="Declare").click()
    expect(page.get_by_role("status")).to_have_text("The planned event is declared.")
    return page.url.rsplit("/", 1)[1].split("?")[0]


def minute(at: datetime) -> datetime:
    """Drop seconds: a date-and-time field holds minutes."""
    return at.replace(second=0, microsecond=0)


# --- every page: accessible, readable on a phone, pictured in the docs ------------------


def pages_of(live: Live, role: str) -> dict[str, str]:
    """Return the console's pages for a role: screenshot name -> path."""
    if role == "customer":
        start = minute(datetime.now(UTC)) + timedelta(hours=6)
        body = {
            "customer": "acme",
            "checks": ["portal"],
            "kind": "os-upgrade",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
            "note": "kernel update",
        }
        _, window = live.api("POST", "/api/v1/maintenance", CUSTOMER_TOKEN, body)
        return {
            "customer-overview": "/",
            "customer-declare": "/windows/new",
            "customer-window": f"/windows/{window['id']}",
            "customer-windows": "/windows",
        }
    ticket = live.open_ticket()
    return {
        "operator-overview": "/",
        "operator-tickets": "/tickets",
        "operator-ticket": f"/tickets/{ticket['id']}",
        "operator-windows": "/windows",
        "operator-cluster": "/cluster",
    }


def look_at(page: Page, name: str, shots: Path) -> None:
    """Check a page with axe-core and for sideways scrolling; save it at desktop and phone width."""
    for size, suffix in ((DESKTOP, ""), (PHONE, "-phone")):
        page.set_viewport_size(size)  # type: ignore[arg-type]
        wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not wide, f"{name} is wider than a {size['width']}px screen"
        page.screenshot(path=shots / f"{name}{suffix}.png", full_page=True)
    page.set_viewport_size(DESKTOP)  # type: ignore[arg-type]
    results = Axe().run(page)
    assert results.violations_count == 0, f"{name}:\n{results.generate_report()}"


@pytest.mark.parametrize("role", ["customer", "operator"])
def test_every_console_page_passes_axe_and_fits_a_phone(
    page: Page, live: Live, role: str, tmp_path: Path
) -> None:
    page.goto(live.url + "/")
    look_at(page, "logon", tmp_path)
    log_on(page, live, CUSTOMER_TOKEN if role == "customer" else OPERATOR_TOKEN)
    for name, path in pages_of(live, role).items():
        page.goto(live.url + path)
        look_at(page, name, tmp_path)
    if role == "customer":
        page.goto(live.url + "/windows/new")
        field(page, "End").fill("2020-01-01T10:00")
        page.get_by_role("button", name="Declare").click()
        expect(page.locator("#end-error")).to_be_visible()
        shown_error = tmp_path / "customer-declare-error.png"
        page.screenshot(path=shown_error, full_page=True)
        assert Axe().run(page).violations_count == 0
    if os.environ.get("SITEWATCH_UPDATE_SCREENSHOTS"):
        DOCS.mkdir(exist_ok=True)
        for shot in tmp_path.glob("*.png"):
            shutil.copyfile(shot, DOCS / shot.name)


# --- a customer's planned events --------------------------------------------------------


def test_a_customer_declares_a_window_sees_it_active_and_extends_it(page: Page, live: Live) -> None:
    log_on(page, live, CUSTOMER_TOKEN)
    end = minute(datetime.now(UTC)) + timedelta(hours=1)

    window = declare(page, live, end=end)

    facts = page.locator("dl.facts")
    expect(page.locator("h2 .state")).to_have_text("active")
    local = end.astimezone(BERLIN)
    expect(facts).to_contain_text(f"{local:%Y-%m-%d %H:%M} {local.tzname()}")
    expect(facts).to_contain_text(f"({end:%Y-%m-%d %H:%M} UTC)")
    expect(facts).to_contain_text("database <upgrade> & reboot")

    page.get_by_role("button", name="Extend by 1h").click()

    expect(page.get_by_role("status")).to_have_text("The end is changed.")
    status, shown = live.api("GET", f"/api/v1/maintenance/{window}", CUSTOMER_TOKEN)
    assert status == 200 and shown["state"] == "active"
    assert datetime.fromisoformat(shown["end"]) == end + timedelta(hours=1)
    assert [h["action"] for h in shown["history"]] == ["declared", "changed"]
    assert {h["by"] for h in shown["history"]} == {"customer:acme"}

    page.get_by_role("button", name="End now").click()
    expect(page.get_by_role("status")).to_have_text("The window is ended.")
    expect(page.locator("h2 .state")).to_have_text("ended")


def test_a_customer_cancels_a_scheduled_window(page: Page, live: Live) -> None:
    log_on(page, live, CUSTOMER_TOKEN)
    start = minute(datetime.now(UTC)) + timedelta(days=1)
    window = declare(page, live, start=start, end=start + timedelta(hours=2))
    expect(page.locator("h2 .state")).to_have_text("scheduled")

    page.get_by_role("button", name="Cancel this window").click()

    expect(page.get_by_role("status")).to_have_text("The window is cancelled.")
    expect(page.locator("h2 .state")).to_have_text("cancelled")
    _, shown = live.api("GET", f"/api/v1/maintenance/{window}", CUSTOMER_TOKEN)
    assert shown["state"] == "cancelled"


def test_an_end_before_the_start_is_shown_at_the_end_field_with_what_was_typed_kept(
    page: Page, live: Live
) -> None:
    log_on(page, live, CUSTOMER_TOKEN)
    start = minute(datetime.now(UTC)) + timedelta(days=2)
    page.goto(live.url + "/windows/new")
    field(page, "Kind").select_option("os-upgrade")
    field(page, "shop").check()
    field(page, "Start").fill(berlin_input(start))
    field(page, "End").fill(berlin_input(start - timedelta(hours=1)))
    field(page, "Note").fill("kernel 6.12")

    page.get_by_role("button", name="Declare").click()

    end_field = field(page, "End")
    expect(page.locator("#end-error")).to_contain_text("must be after start")
    expect(end_field).to_have_attribute("aria-invalid", "true")
    expect(end_field).to_have_value(berlin_input(start - timedelta(hours=1)))
    expect(field(page, "Start")).to_have_value(berlin_input(start))
    expect(field(page, "Kind")).to_have_value("os-upgrade")
    expect(field(page, "shop")).to_be_checked()
    expect(field(page, "portal")).not_to_be_checked()
    expect(field(page, "Note")).to_have_value("kernel 6.12")
    expect(page.locator("#start-error")).to_have_count(0)

    field(page, "End").fill(berlin_input(start + timedelta(days=3)))
    page.get_by_role("button", name="Declare").click()
    expect(page.locator("#end-error")).to_contain_text("at most 1d (maintenance_max)")


def test_a_change_to_a_window_that_ended_meanwhile_shows_the_conflict_by_the_button(
    page: Page, live: Live
) -> None:
    log_on(page, live, CUSTOMER_TOKEN)
    window = declare(page, live, end=minute(datetime.now(UTC)) + timedelta(hours=1))
    now = datetime.now(UTC).isoformat()
    status, _ = live.api("PATCH", f"/api/v1/maintenance/{window}", CUSTOMER_TOKEN, {"end": now})
    assert status == 200

    page.get_by_role("button", name="Extend by 30m").click()  # the page still shows it active

    expect(page.get_by_role("alert")).to_contain_text(f"window {window} is ended")
    assert page.evaluate("document.title") == f"Window {window} - sitewatch"


# --- an operator's tickets --------------------------------------------------------------


def test_an_operator_acknowledges_and_resolves_on_the_ticket_page_as_the_api_shows(
    page: Page, live: Live
) -> None:
    ticket = live.open_ticket()
    log_on(page, live, OPERATOR_TOKEN)
    page.get_by_role("link", name=f"Ticket {ticket['id']}").first.click()
    expect(page).to_have_title(f"Ticket {ticket['id']} - sitewatch")

    field(page, "Acknowledgement note").fill("looking at the load balancer")
    page.get_by_role("button", name="Acknowledge as olivia").click()
    expect(page.get_by_role("status")).to_have_text("Acknowledged: escalation has stopped.")

    field(page, "Cause").select_option("network")
    field(page, "Resolution note").fill("switch port replaced")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_have_text("Resolved.")
    expect(page.locator("ol.timeline")).to_contain_text("switch port replaced")

    status, shown = live.api("GET", f"/api/v1/tickets/{ticket['id']}")
    assert status == 200
    assert (shown["state"], shown["acknowledged_by"]) == ("resolved", "olivia")
    assert (shown["cause"], shown["resolved_by"]) == ("network", "olivia")
    assert shown["resolution_note"] == "switch port replaced"
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds.index("acknowledged") < kinds.index("resolved")


# --- what is refused --------------------------------------------------------------------


def test_a_form_posted_without_its_csrf_token_is_refused_with_a_clear_page(
    page: Page, live: Live
) -> None:
    log_on(page, live, CUSTOMER_TOKEN)
    _, before = live.api("GET", "/api/v1/maintenance", CUSTOMER_TOKEN)
    page.goto(live.url + "/windows/new")
    field(page, "End").fill(berlin_input(datetime.now(UTC) + timedelta(hours=3)))
    page.locator("main form input[name=csrf]").evaluate("field => field.remove()")

    page.get_by_role("button", name="Declare").click()

    expect(page).to_have_title("Form refused - sitewatch")
    expect(page.get_by_role("alert")).to_contain_text("nothing was changed")
    _, after = live.api("GET", "/api/v1/maintenance", CUSTOMER_TOKEN)
    assert after == before


def test_a_customer_cannot_open_another_customers_window_by_its_url(page: Page, live: Live) -> None:
    start = datetime.now(UTC) + timedelta(hours=5)
    end = start + timedelta(hours=1)
    body = {
        "customer": "globex",
        "kind": "other",
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    status, window = live.api("POST", "/api/v1/maintenance", GLOBEX_TOKEN, body)
    assert status == 201
    log_on(page, live, CUSTOMER_TOKEN)

    answer = page.goto(f"{live.url}/windows/{window['id']}")

    assert answer is not None and answer.status == 403
    expect(page).to_have_title("Not yours - sitewatch")
    expect(page.locator("main")).not_to_contain_text("globex")
    assert page.goto(f"{live.url}/tickets").status == 403  # type: ignore[union-attr]


def test_logging_out_ends_the_session(page: Page, context: BrowserContext, live: Live) -> None:
    log_on(page, live, CUSTOMER_TOKEN)
    cookie = next(c for c in context.cookies() if c["name"] == "sitewatch_session")
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict")
    assert CUSTOMER_TOKEN not in cookie["value"]
    assert page.evaluate("document.cookie") == ""

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_title("Log on - sitewatch")
    assert "sitewatch_session" not in {c["name"] for c in context.cookies()}
    page.goto(live.url + "/windows")
    expect(page).to_have_title("Log on - sitewatch")


# --- two instances, one database --------------------------------------------------------


def test_a_session_cookie_from_one_instance_works_on_another(
    browser: Browser, pg_url: DatabaseUrl, tmp_path: Path
) -> None:
    configs = []
    for name in ("first", "second"):
        config = ServiceConfig(
            tmp_path / name, checks={"portal": logon_check("portal", "http://127.0.0.1:9")}
        )
        config.directory.mkdir()
        path = config.write()
        path.write_text(
            path.read_text().replace('"sqlite:///sitewatch.db"', json.dumps(pg_url.url))
        )
        configs.append(config)
    with running(configs[0]), running(configs[1]):
        first, second = Live(configs[0].url), Live(configs[1].url)
        on_first = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        log_on(on_first.new_page(), first, CUSTOMER_TOKEN)
        [cookie] = [c for c in on_first.cookies() if c["name"] == "sitewatch_session"]
        on_first.close()

        on_second = browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
        on_second.add_cookies(
            [{"name": cookie["name"], "value": cookie["value"], "url": second.url}]
        )
        page = on_second.new_page()
        page.goto(second.url + "/")
        expect(page).to_have_title("Overview - sitewatch")
        window = declare(page, second, end=minute(datetime.now(UTC)) + timedelta(hours=1))
        on_second.close()

        status, shown = first.api("GET", f"/api/v1/maintenance/{window}", CUSTOMER_TOKEN)
        assert status == 200 and shown["history"][0]["by"] == "customer:acme"
