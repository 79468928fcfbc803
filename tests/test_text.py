"""Customer text is hostile: nothing in it may reach the terminal as a command."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.text import flatten, safe

DANGEROUS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.mark.parametrize(
    "raw, shown",
    [
        ("\x1b[31mred\x1b[0m", "␛[31mred␛[0m"),
        ("\x1b]8;;http://evil\x07link\x1b]8;;\x07", "␛]8;;http://evil␇link␛]8;;␇"),
        ("abc\u202edcba", "abc<U+202E>dcba"),
        ("csi \x9b31m", "csi <U+009B>31m"),
        ("[bold red]x[/] [@click=app.quit]q[/]", "[bold red]x[/] [@click=app.quit]q[/]"),
        ("مرحبا\u200f ok", "مرحبا\u200f ok"),
        ("emoji 👍🏽 and ગુજરાતી", "emoji 👍🏽 and ગુજરાતી"),
        ("line\nbreak\tand tab", "line\nbreak\tand tab"),
    ],
)
def test_safe(raw, shown):
    assert safe(raw) == shown


def test_flatten_is_one_line_and_cut():
    assert flatten("a\n\n b\r\nc") == "a b c"
    assert flatten("x" * 100, 10) == "x" * 9 + "…"


@given(st.text())
def test_nothing_dangerous_survives(text):
    assert not DANGEROUS.search(safe(text))
    assert "\n" not in flatten(text)
