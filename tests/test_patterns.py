"""Extract patterns: RE2 on the text's UTF-8 bytes finds what Python's `re` finds."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sitewatch.probing.patterns import compile_extract

CSRF = r'name="csrf" value="([^"]+)"'


@pytest.mark.parametrize(
    ("pattern", "text", "first"),
    [
        (CSRF, '<input name="csrf" value="tok-123">', "tok-123"),
        (CSRF, 'é€😀 <input name="csrf" value="tok-é€😀">', "tok-é€😀"),
        (CSRF, "<p>no form here</p>", None),
        (r"(a)|b", "b", None),  # the group took no part in the match
        (r"x(\w*)y", "xy", ""),  # an empty group is a value, not None
        (r"(.)", "\udcff", "\udcff"),  # a lone surrogate round-trips
    ],
    ids=["ascii", "non-ascii before and inside", "no match", "group unused", "empty", "surrogate"],
)
def test_the_first_group_of_the_first_match(pattern: str, text: str, first: str | None) -> None:
    """Return group 1 of the first match, decoded whole, or None."""
    assert compile_extract(pattern).first(text) == first


@given(st.text(alphabet="ab=\"'é€😀 <>", max_size=40))
def test_the_same_value_as_python_re(text: str) -> None:
    """Find, in any text, the value `re` finds (on patterns both engines take)."""
    for pattern in (r"a(b+)a", r"=\"([^\"]*)\"", r"(é+|€)", r"<([^>]*)>"):
        found = re.search(pattern, text)
        assert compile_extract(pattern).first(text) == (found and found.group(1))
