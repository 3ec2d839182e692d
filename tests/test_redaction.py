"""Redaction: a secret is hidden in every spelling a site may echo it in, and only there."""

from __future__ import annotations

import logging

import pytest

from sitewatch.model.redaction import MASK, SecretsFilter, redact, redact_head

SECRET = 'Sé/cr"et p&ss<1>'
"""A password with a character of every kind an encoder treats differently."""

# Each row: how a site spelled SECRET. `redact` must hide every one of them whole.
SPELLINGS = {
    "plain": SECRET,
    "percent-encoded, upper-case hex": "S%C3%A9%2Fcr%22et%20p%26ss%3C1%3E",
    "percent-encoded, lower-case hex": "S%c3%a9%2fcr%22et%20p%26ss%3c1%3e",
    "percent-encoded with / left as is": "S%C3%A9/cr%22et%20p%26ss%3C1%3E",
    "form-encoded, + for the space": "S%C3%A9%2Fcr%22et+p%26ss%3C1%3E",
    "percent-encoded twice": "S%25C3%25A9%252Fcr%2522et%2520p%2526ss%253C1%253E",
    "percent-encoded twice, lower-case hex": "S%25c3%25a9%252fcr%2522et%2520p%2526ss%253c1%253e",
    "every character percent-encoded": "%53%C3%A9%2F%63%72%22%65%74%20%70%26%73%73%3C%31%3E",
    "named HTML entities": "S&eacute;/cr&quot;et p&amp;ss&lt;1&gt;",
    "HTML-escaped, & < > and quotes only": "Sé/cr&quot;et p&amp;ss&lt;1&gt;",
    "decimal character references": "&#83;&#233;&#47;&#99;&#114;&#34;&#101;&#116;&#32;&#112;"
    "&#38;&#115;&#115;&#60;&#49;&#62;",
    "decimal references with leading zeros": "&#0083;&#00233;&#047;cr&#034;et p&#0038;ss"
    "&#060;1&#62;",
    "decimal references without semicolons": "&#83&#233/cr&#34et p&#38ss<1>",
    "hex references, lower-case x": "&#x53;&#xe9;&#x2f;cr&#x22;et&#x20;p&#x26;ss&#x3c;1&#x3e;",
    "hex references, upper-case X and digits": "&#X53;&#XE9;&#X2F;cr&#X22;et p&#X26;ss"
    "&#X3C;1&#X3E;",
    "hex references with leading zeros": "&#x0053;&#x00E9;&#x002F;cr&#x0022;et p&#x26;ss<1>",
    "JSON, as json.dumps writes it": 'S\\u00e9/cr\\"et p&ss<1>',
    "JSON with an escaped solidus": 'S\\u00e9\\/cr\\"et p&ss<1>',
    "JSON, every character \\u-escaped, lower-case hex": "\\u0053\\u00e9\\u002f\\u0063\\u0072"
    "\\u0022\\u0065\\u0074\\u0020\\u0070\\u0026\\u0073\\u0073\\u003c\\u0031\\u003e",
    "JSON, every character \\u-escaped, upper-case hex": "\\u0053\\u00E9\\u002F\\u0063\\u0072"
    "\\u0022\\u0065\\u0074\\u0020\\u0070\\u0026\\u0073\\u0073\\u003C\\u0031\\u003E",
    "JSON with the HTML-unsafe characters escaped": "Sé\\/cr\\u0022et p\\u0026ss\\u003c1\\u003e",
    "one spelling per character, mixed": 'S&#xE9;%2Fcr\\"et+p&amp;ss\\u003C1%3e',
}


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_secret_is_hidden_whole_in_every_spelling(spelling: str) -> None:
    """Hide the secret however the site spelled it, and keep the text around it."""
    assert redact(f"before [{spelling}] after", {SECRET}) == f"before [{MASK}] after"


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_the_head_of_a_text_never_shows_half_a_secret(spelling: str) -> None:
    """Cut a long text inside a spelled secret: the head ends with the mask, whole."""
    text = "x" * 10 + spelling + "y" * 10_000
    assert redact_head(text, 12, frozenset({SECRET})) == "x" * 10 + MASK


# Each row: text, what redact makes of it with the secret "hunter 2".
OTHER_TEXTS = {
    "a form body": ("password=hunter 2&x=1", "password=***&x=1"),
    "a next= URL inside a URL": ("next=%2Fhome%3Ft%3Dhunter%202", "next=%2Fhome%3Ft%3D***"),
    "a query with + for the space": ("next=/home?t=hunter+2", "next=/home?t=***"),
    "an HTML attribute": ('<input value="hunter 2">', '<input value="***">'),
    "encoded once and twice in one": ("%2fhunter%2520%32", "%2f***"),
    "the secret in another case": ("HUNTER 2", "HUNTER 2"),
    "no secret at all": ("nothing here", "nothing here"),
    "an escape that is not one": ("50% off &co \\q +1", "50% off &co \\q +1"),
    "two occurrences": ("hunter 2, again hunter%202", "***, again ***"),
}


@pytest.mark.parametrize(("text", "redacted"), OTHER_TEXTS.values(), ids=OTHER_TEXTS.keys())
def test_redact_hides_the_secret_and_leaves_everything_else(text: str, redacted: str) -> None:
    """Hide the secret where it is and leave the rest of the text as it was."""
    assert redact(text, {"hunter 2", ""}) == redacted


def test_the_longer_of_two_overlapping_secrets_is_hidden_whole() -> None:
    """Hide a secret that contains another one as a whole, not in pieces."""
    assert redact("token abc123", ["abc", "abc123"]) == "token ***"
    assert redact("<b>&quot;it&#x27;s&quot;</b>", ['"it\'s"']) == "<b>***</b>"


def test_a_secret_that_looks_encoded_is_hidden_as_written_and_encoded() -> None:
    """Hide a password holding `%41` or `&amp;` both as written and as a site encodes it."""
    assert redact("a%41b and a%2541b", {"a%41b"}) == "*** and ***"
    assert redact("x&amp;y and x&amp;amp;y", {"x&amp;y"}) == "*** and ***"


def test_a_plus_in_a_secret_is_hidden_plain_and_percent_encoded() -> None:
    """Hide `a+b` written plainly and as a form encoder writes it."""
    assert redact("a+b then a%2Bb", {"a+b"}) == "*** then ***"


def test_a_character_beyond_the_bmp_is_hidden_in_json_and_percent_spellings() -> None:
    """Hide an emoji spelled as a JSON surrogate pair or as four percent-encoded bytes."""
    secret = "pw\U0001f600"
    assert redact("pw\\ud83d\\ude00 pw%F0%9F%98%80 pw&#128512;", {secret}) == "*** *** ***"


def test_the_secrets_filter_redacts_what_a_library_logs() -> None:
    """Redact a third-party log record's merged message and drop its arguments."""
    record = logging.LogRecord("apprise", logging.WARNING, __file__, 1, "to %s", ("x%2Fy",), None)
    assert SecretsFilter({"x/y"}).filter(record)
    assert (record.msg, record.args) == ("to ***", None)
