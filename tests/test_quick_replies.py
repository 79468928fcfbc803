"""Quick replies in the domain: the /shortcut being typed, the matches (none while the window is
closed), the variables filled in one pass with the customer's name neutralised, and the config."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.config import ConfigError, load
from desk.models import Customer
from desk.quick_replies import QuickReply, expand, fill, matches, typing_shortcut

LIBRARY = [QuickReply("hours", "9-17"), QuickReply("thanks", "Thanks!"), QuickReply("thanks-long", "Thank you!")]
ANA = Customer("306912345678", "Ana María López", phone="+306912345678")


@pytest.mark.parametrize(
    ("line", "column", "found"),
    [
        ("/", 1, (0, "")),
        ("/tha", 4, (0, "tha")),
        ("Hello /tha", 10, (6, "tha")),
        ("Hello\t/tha", 10, (6, "tha")),
        ("/thanks-long", 12, (0, "thanks-long")),
        ("/tha and more", 4, (0, "tha")),  # the cursor ends what is typed
        ("/tha", 2, (0, "t")),
        ("https://example.com", 8, None),  # a URL
        ("and/or", 6, None),
        ("3/4", 3, None),
        ("/tha ", 5, None),  # a space ends it
        ("tha", 3, None),
        ("", 0, None),
    ],
)
def test_a_shortcut_is_typed_after_a_slash_that_begins_a_word(line, column, found):
    assert typing_shortcut(line, column) == found


@given(st.text(), st.integers(min_value=0, max_value=50))
def test_typing_shortcut_never_fails_and_names_a_slash(line, column):
    column = min(column, len(line))
    found = typing_shortcut(line, column)
    if found is not None:
        slash, typed = found
        assert line[slash] == "/" and line[slash + 1 : column] == typed


def test_matches_are_by_prefix_in_any_case_and_none_while_the_window_is_closed():
    assert matches(LIBRARY, "", window_open=True) == LIBRARY
    assert [r.shortcut for r in matches(LIBRARY, "THA", window_open=True)] == ["thanks", "thanks-long"]
    assert matches(LIBRARY, "x", window_open=True) == []
    assert matches(LIBRARY, "", window_open=False) == []
    assert matches(LIBRARY, "thanks", window_open=False) == []


def test_the_variables_are_filled_and_an_unknown_one_stays_for_the_agent():
    reply = QuickReply("t", "Hi {{first_name}} ({{ name }}), {{agent}} from {{department}}: order {{order}}?")
    assert expand(reply, ANA, "Sam", "Support") == (
        "Hi Ana (Ana María López), Sam from Support: order {{order}}?"
    )


def test_a_customer_known_only_by_number_leaves_the_name_to_the_agent():
    nameless = Customer("306912345678", "+306912345678", phone="+306912345678")
    assert expand(QuickReply("t", "Hi {{first_name}}!"), nameless, "Sam", "Support") == "Hi {{first_name}}!"


def test_a_customers_name_is_neutralised_and_never_read_as_a_variable():
    hostile = Customer("1", "{{agent}}\x1b[31m\u202eevil\u200b")
    text = expand(QuickReply("t", "Hi {{name}}, I am {{agent}}"), hostile, "Sam", "Support")
    assert text == "Hi {{agent}}␛[31m<U+202E>evil<U+200B>, I am Sam"


def test_a_missing_value_goes_from_an_automatic_message():
    assert fill("Hi {{first_name}}!", {"first_name": ""}, keep_missing=False) == "Hi !"


def _config(tmp_path, body: str):
    path = tmp_path / "config.toml"
    path.write_text(body, encoding="utf-8")
    return load(path)


def test_quick_replies_come_from_the_config(tmp_path):
    config = _config(tmp_path, '[[quick_replies]]\nshortcut = "Thanks"\ntext = "Thank you!"\n')
    assert config.configured_quick_replies() == [QuickReply("thanks", "Thank you!")]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('[[quick_replies]]\nshortcut = "two words"\ntext = "x"\n',
         "The config key quick_replies[0].shortcut may hold only letters, digits, - and _, not 'two words'."),
        ('[[quick_replies]]\nshortcut = "a"\ntext = " "\n', "The config key quick_replies[0].text is empty."),
        ('[[quick_replies]]\nshortcut = "a"\ntext = "x"\n[[quick_replies]]\nshortcut = "A"\ntext = "y"\n',
         "The config key quick_replies[1].shortcut repeats /a."),
        ('[[quick_replies]]\nshortcut = "a"\n', "The config key quick_replies[0] needs text."),
        ('[[quick_replies]]\nshortcut = "a"\ntext = "x"\nsend = true\n', "Unknown config key quick_replies[0].send."),
        ('[[mock.numbers]]\nid = "1"\ndisplay = "x"\ndepartment = "S"\ngreeting = "Hi {{frist_name}}"\n',
         "The config key mock.numbers[0].greeting has the unknown variable {{frist_name}}; the variables are "
         "{{name}}, {{first_name}}, {{agent}}, {{department}}."),
        ('[[mock.numbers]]\nid = "1"\ndisplay = "x"\ndepartment = "S"\naway = "' + "x" * 4097 + '"\n',
         "The config key mock.numbers[0].away has 4,097 characters; WhatsApp takes at most 4,096."),
    ],
)
def test_a_bad_quick_reply_or_automatic_message_is_a_sentence_naming_the_key(tmp_path, body, says):
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, body)
    assert str(caught.value) == says


def test_greeting_and_away_are_per_number_and_off_by_default(tmp_path):
    config = _config(
        tmp_path,
        '[[mock.numbers]]\nid = "1"\ndisplay = "x"\ndepartment = "Sales"\ngreeting = "Hi {{first_name}}"\n'
        '[[mock.numbers]]\nid = "2"\ndisplay = "y"\ndepartment = "Support"\naway = "Closed"\n',
    )
    assert config.greeting_and_away("1") == ("Hi {{first_name}}", "")
    assert config.greeting_and_away("2") == ("", "Closed")
    assert config.greeting_and_away("3") == ("", "")
