"""Time what the probe does with site text: excerpts of hostile bodies, redaction.

Prints medians of repeated runs, next to the markup regex the excerpt used before
(issue 11: 170-260 ms of CPU per hostile body). No assertion: the tests check what
the excerpt says, this says what it costs.

    python bench/excerpt.py
"""

from __future__ import annotations

import functools
import re
import statistics
import time
from collections.abc import Callable

from sitewatch.model.redaction import redact
from sitewatch.probing.excerpt import excerpt

OLD_MARKUP = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*(?:>|$)", re.I | re.S)
"""The regex the excerpt stripped markup with before: lazy `.*?` on site text."""
SOURCE_CHARS = 16_384
"""The old excerpt, like the new one, looked at this much of a body."""
MEBIBYTE = 1024 * 1024
SECRETS = frozenset({"acme-robot", 'Sé/cr"et p&ss<1>'})
HOSTILE = {
    "1 MiB of <": "<" * MEBIBYTE,
    "1 MiB of <!--": "<!--" * (MEBIBYTE // 4),
    "1 MiB of <script>": "<script>" * (MEBIBYTE // 8),
    "1 MiB of <a>": "<a>" * (MEBIBYTE // 3),
    "1 MiB of &#1": "&#1" * (MEBIBYTE // 3),
    "an ordinary page": "<p>Welcome back, <b>acme-robot</b> &amp; friends</p>\n" * 20_000,
}
DETAIL = (
    "step 2 POST https://portal.acme.example/login?next=%2Fhome: expected status 302, "
    'got 200; body contains "Invalid password"'
)


def median_ms(work: Callable[[], object], runs: int = 15) -> float:
    """Return the median wall time of `work` in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    """Print the medians."""
    print(f"{'body':<20} {'whole excerpt now':>18} {'old markup regex alone':>23}")
    for name, body in HOSTILE.items():
        now = median_ms(functools.partial(excerpt, body, SECRETS))
        old = median_ms(functools.partial(OLD_MARKUP.sub, " ", body[:SOURCE_CHARS]), runs=5)
        print(f"{name:<20} {now:>15.2f} ms {old:>20.2f} ms")
    per_call = median_ms(lambda: [redact(DETAIL, SECRETS) for _ in range(1000)])
    print(f"redact one probe detail with a % in it: {per_call:.1f} us (no regex to compile)")


if __name__ == "__main__":
    main()
