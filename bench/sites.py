"""The benchmark's simulated sites as every bench process sees them: addresses, accounts, checks.

Site `i` lives at `http://127.0.0.1:PORT/s/i/` where PORT is `ports[i % len(ports)]`:
one destination ip:port sustains only ~470 new connections a second (FIELD-NOTES), so
the farm spreads its sites over many ports. Each site has its own probe account; the
password is derived from the site's number, so the farm, the baseline and the
generated check files agree on it without passing thousands of values around.
"""

from __future__ import annotations

import hashlib
import textwrap
from collections.abc import Sequence

USER = "probe"
"""The probe account's user name on every site."""
CSRF_PATTERN = r'name="csrf" value="([^"]+)"'
"""How a check finds the csrf token in a site's logon form (group 1)."""
SESSION_COOKIE = "session"
WELCOME = "Welcome"
KINDS = ("logon", "get")
"""What one check does: the three-step logon, or one GET of `/ping` (a plain uptime check)."""


def password(site: int) -> str:
    """Return site `site`'s probe password: distinct per site, as customers' accounts are."""
    digest = hashlib.sha256(f"sitewatch-bench:{site}".encode()).hexdigest()[:10]
    return f"pw-{site}-{digest}"


def password_variable(site: int) -> str:
    """Return the environment variable a check file reads site `site`'s password from."""
    return f"BENCH_PW_{site}"


def base_url(site: int, ports: Sequence[int]) -> str:
    """Return the base URL of site `site` (no trailing slash)."""
    return f"http://127.0.0.1:{ports[site % len(ports)]}/s/{site}"


def check_id(site: int) -> str:
    """Return the id of the check that probes site `site`."""
    return f"site-{site:05d}"


def site_of_check(check: str) -> int | None:
    """Return the site a benchmark check id probes, or None for another id."""
    prefix, _, number = check.partition("-")
    return int(number) if prefix == "site" and number.isdigit() else None


def customer_id(site: int, sites_per_customer: int) -> str:
    """Return the customer that owns site `site`."""
    return f"cust-{site // sites_per_customer:04d}"


def check_file(
    site: int, ports: Sequence[int], sites_per_customer: int, kind: str = "logon"
) -> str:
    """Return the YAML of site `site`'s check of `kind` (defaults for timing)."""
    url = base_url(site, ports)
    head = f"id: {check_id(site)}\ncustomer: {customer_id(site, sites_per_customer)}\n"
    if kind == "get":
        return head + textwrap.dedent(f"""\
            name: Bench site {site} up
            steps:
              - get: "{url}/ping"
                expect: {{status: 200}}
            """)
    return head + textwrap.dedent(f"""\
        name: Bench site {site} logon
        steps:
          - get: "{url}/login"
            extract: {{csrf: '{CSRF_PATTERN}'}}
          - post: "{url}/login"
            form: {{user: {USER}, password: "${{{password_variable(site)}}}", csrf: "{{csrf}}"}}
            expect: {{status: 302, cookie: {SESSION_COOKIE}}}
          - get: "{url}/home"
            expect: {{status: 200, body_contains: "{WELCOME}"}}
        """)
