"""The quick replies saved from the desk: kept durably by shortcut (in lower case), replaced by a
save under the same shortcut, removed by a delete, checked on the way in, and laid over the
config's by the desk (desk.quick_replies.library)."""

from __future__ import annotations

import pytest

from desk.clock import FrozenClock
from desk.quick_replies import QuickReply, library
from desk.store.contract import Store
from tests.store_contract.builders import inbound
from tests.store_contract.harness import StoreHarness


def test_a_quick_reply_is_kept_and_read_back_by_shortcut(store: Store) -> None:
    assert store.quick_replies() == []
    kept = store.save_quick_reply("thanks", "Thank you, {{first_name}}!\nAnything else?")
    store.save_quick_reply("Hours", "We are open 9-17.")
    assert kept == QuickReply("thanks", "Thank you, {{first_name}}!\nAnything else?")
    assert store.quick_replies() == [QuickReply("hours", "We are open 9-17."), kept]


def test_a_save_under_the_same_shortcut_replaces_it_whatever_the_case(store: Store) -> None:
    store.save_quick_reply("thanks", "Thanks!")
    store.save_quick_reply("THANKS", "Thank you very much!")
    assert store.quick_replies() == [QuickReply("thanks", "Thank you very much!")]


def test_a_delete_removes_it_and_says_whether_there_was_one(store: Store) -> None:
    store.save_quick_reply("thanks", "Thanks!")
    store.save_quick_reply("hours", "9-17")
    assert store.delete_quick_reply("Thanks") is True
    assert store.delete_quick_reply("thanks") is False
    assert store.quick_replies() == [QuickReply("hours", "9-17")]


@pytest.mark.parametrize(
    ("shortcut", "text", "says"),
    [
        ("two words", "Hi", "may hold only letters, digits, - and _"),
        ("/thanks", "Hi", "may hold only letters"),
        ("", "Hi", "is empty"),
        ("x" * 33, "Hi", "longer than 32"),
        ("thanks", "  \n", "is empty"),
        ("thanks", "x" * 4097, "at most 4,096"),
    ],
)
def test_a_quick_reply_that_cannot_be_typed_or_sent_is_refused_in_a_sentence(
    store: Store, shortcut: str, text: str, says: str
) -> None:
    with pytest.raises(ValueError, match=says):
        store.save_quick_reply(shortcut, text)
    assert store.quick_replies() == []


def test_quick_replies_of_letters_in_any_script_digits_dashes_and_underscores_are_kept(store: Store) -> None:
    for shortcut in ("gracias-ñ", "ευχαριστώ", "step_2"):
        store.save_quick_reply(shortcut, "…")
    assert [r.shortcut for r in store.quick_replies()] == ["gracias-ñ", "step_2", "ευχαριστώ"]


def test_the_library_is_no_change_to_a_conversation(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    before = store.last_change()
    store.save_quick_reply("thanks", "Thanks!")
    store.delete_quick_reply("thanks")
    assert store.last_change() == before


def test_quick_replies_survive_a_reopen(harness: StoreHarness) -> None:
    store = harness.open()
    store.save_quick_reply("thanks", "Thanks!")
    store.save_quick_reply("hours", "9-17")
    store.save_quick_reply("bye", "Bye")
    store.delete_quick_reply("bye")
    store.save_quick_reply("hours", "9-18")
    store = harness.reopen()
    assert store.quick_replies() == [QuickReply("hours", "9-18"), QuickReply("thanks", "Thanks!")]


def _library_writes(store: Store, clock: FrozenClock) -> None:
    store.save_quick_reply("thanks", "Thanks!")
    store.save_quick_reply("hours", "9-17")
    store.delete_quick_reply("hours")


def test_quick_replies_survive_a_kill(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_library_writes)
    assert store.quick_replies() == [QuickReply("thanks", "Thanks!")]


def test_the_stores_quick_replies_go_over_the_configs_with_the_same_shortcut(store: Store) -> None:
    configured = [QuickReply("hours", "We are open 9-17."), QuickReply("thanks", "Thanks!")]
    store.save_quick_reply("Thanks", "Thank you, {{first_name}}!")
    store.save_quick_reply("bye", "Bye!")
    assert library(configured, store.quick_replies()) == [
        QuickReply("bye", "Bye!"),
        QuickReply("hours", "We are open 9-17."),
        QuickReply("thanks", "Thank you, {{first_name}}!"),
    ]
    store.delete_quick_reply("thanks")
    assert library(configured, store.quick_replies())[-1] == QuickReply("thanks", "Thanks!")
