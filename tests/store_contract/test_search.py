"""Search: every message (text, caption, file name, notes) and every customer (name, number) is
found by the start of its words, case and diacritics folded, in Greek, Gujarati and Arabic too;
hostile queries are only text; what was written is found after a restart and a kill."""

from __future__ import annotations

from dataclasses import replace

import pytest

from desk.clock import FrozenClock
from desk.models import Customer, Direction, Media, Message, MessageReceived, MessageStatus
from desk.store.contract import Store
from tests.store_contract.builders import ALICE, BN, BOB, at, cid, inbound, outgoing
from tests.store_contract.harness import StoreHarness

NIKOS = Customer("306912345678", "Νίκος Παπαδόπουλος", phone="+306912345678", country="GR")


def media(mid: str, minutes: float, kind: str, **fields: str) -> MessageReceived:
    """A customer's image or document, its caption in the text as the backends put it."""
    caption = fields.get("caption", "")
    message = Message(
        mid, cid(), Direction.INBOUND, kind, at(minutes), MessageStatus.RECEIVED, caption,
        media=Media(kind, caption=caption or None, filename=fields.get("filename")),
    )
    return MessageReceived(BN, ALICE, message)


def found(store: Store, query: str) -> list[str | None]:
    """The message ids the query finds (None for a customer), in the store's order."""
    return [hit.message_id for hit in store.search(query)]


def test_a_word_of_a_message_finds_it_with_its_conversation_time_and_context(store: Store) -> None:
    store.apply(inbound("wamid.1", 0, "Where is my parcel? I ordered it on Monday."))
    store.apply(inbound("wamid.2", 1, "Thanks anyway"))
    [hit] = store.search("parcel")
    assert (hit.conversation_id, hit.message_id, hit.timestamp) == (cid(), "wamid.1", at(0))
    assert "Where is my parcel?" in hit.snippet
    [(start, end)] = hit.marks
    assert hit.snippet[start:end] == "parcel"


def test_each_word_of_the_query_must_start_a_word_of_the_message(store: Store) -> None:
    store.apply(inbound("wamid.1", 0, "the refund for order 1042"))
    store.apply(inbound("wamid.2", 1, "a refund please"))
    assert found(store, "refund order") == ["wamid.1"]
    assert found(store, "ref ord") == ["wamid.1"]  # the start of a word is enough
    assert found(store, "efund") == []  # ... but not its middle
    assert found(store, "refund nothing") == []


def test_case_and_diacritics_are_folded(store: Store) -> None:
    store.apply(inbound("wamid.es", 0, "José pidió una devolución"))
    store.apply(inbound("wamid.de", 1, "Die Straße ist gesperrt"))
    assert found(store, "jose DEVOLUCION") == ["wamid.es"]
    assert found(store, "JOSÉ") == ["wamid.es"]
    assert found(store, "strasse") == ["wamid.de"]


@pytest.mark.parametrize("query", ["καλημέρα", "καλημερα", "ΚΑΛΗΜΕΡΑ", "Καλημερα", "καλημ"])
def test_a_greek_word_is_found_with_or_without_its_tonos_in_any_case(store: Store, query: str) -> None:
    store.apply(inbound("wamid.el", 0, "Καλημέρα σας! Πού είναι η παραγγελία μου;"))
    assert found(store, query) == ["wamid.el"]


def test_greek_final_sigma_and_dialytika_fold_too(store: Store) -> None:
    store.apply(inbound("wamid.el", 0, "Ευχαριστώ πολύς κόσμος, το ρολόι χάλασε"))
    assert found(store, "ΠΟΛΥΣ") == ["wamid.el"]  # ς and Σ
    assert found(store, "ρολοι") == ["wamid.el"]  # ό and ϊ


def test_a_gujarati_word_is_found_and_its_vowel_signs_count(store: Store) -> None:
    store.apply(inbound("wamid.gu", 0, "નમસ્તે, મારો ઓર્ડર ક્યાં છે?"))
    assert found(store, "નમસ્તે") == ["wamid.gu"]
    assert found(store, "ઓર્ડર") == ["wamid.gu"]
    # The vowel signs and the virama are letters of the word, not accents: without them it is
    # another word.
    assert found(store, "નમસત") == []


@pytest.mark.parametrize("query", ["مرحبا", "مَرْحَبًا", "مرح"])
def test_an_arabic_word_is_found_with_or_without_its_harakat(store: Store, query: str) -> None:
    store.apply(inbound("wamid.ar", 0, "مَرْحَبًا، أين طلبي؟"))
    assert found(store, query) == ["wamid.ar"]


def test_an_arabic_word_written_with_tatweel_or_a_hamza_is_found_plain(store: Store) -> None:
    store.apply(inbound("wamid.ar", 0, "شكـــرا على أحمد"))
    assert found(store, "شكرا") == ["wamid.ar"]
    assert found(store, "احمد") == ["wamid.ar"]


def test_a_caption_and_a_document_file_name_are_found(store: Store) -> None:
    store.apply(media("wamid.img", 0, "image", caption="the broken zipper"))
    store.apply(media("wamid.doc", 1, "document", filename="Invoice-2026-03.pdf"))
    assert found(store, "zipper") == ["wamid.img"]
    assert found(store, "invoice") == ["wamid.doc"]
    assert "Invoice-2026-03.pdf" in store.search("invoice")[0].snippet


def test_our_messages_are_found(store: Store) -> None:
    store.apply(inbound("wamid.in", 0, "hello"))
    store.record_outgoing(outgoing("out-1", 1, "Your replacement ships tomorrow"))
    assert found(store, "replacement") == ["out-1"]


def test_a_note_is_found(store: Store) -> None:
    # Notes are messages of type "note" (being added beside this); recorded through the outbox's
    # door for now, they are found as any of our messages are.
    store.apply(inbound("wamid.in", 0, "hello"))
    note = replace(outgoing("note-1", 1, "Customer is a reseller, check the wholesale price"), type="note")
    store.record_outgoing(note)
    assert found(store, "wholesale") == ["note-1"]


def test_a_customer_is_found_by_name_and_by_number(store: Store) -> None:
    store.apply(inbound("wamid.in", 0, "γεια", customer=NIKOS))
    conversation = cid(NIKOS)
    for query in ("νικος", "ΠΑΠΑΔΟΠΟΥΛΟΣ", "νίκ", "+306912345678", "306912345678", "2345678"):
        hits = store.search(query)
        assert [(h.conversation_id, h.message_id) for h in hits] == [(conversation, None)], query
    assert "Νίκος Παπαδόπουλος" in store.search("νικος")[0].snippet


def test_a_customer_who_changes_their_name_is_found_by_the_new_one(store: Store) -> None:
    store.apply(inbound("wamid.1", 0, "hi"))
    store.apply(inbound("wamid.2", 1, "me again", customer=replace(ALICE, name="Alicia Keys")))
    assert [h.message_id for h in store.search("alicia")] == [None]
    assert store.search("keys")[0].conversation_id == cid()


def test_customers_come_first_then_messages_newest_first(store: Store) -> None:
    store.apply(inbound("wamid.old", 0, "about Bob's order"))
    store.apply(inbound("wamid.new", 5, "Bob again"))
    store.apply(inbound("wamid.bob", 3, "hi", customer=BOB))
    assert found(store, "bob") == [None, "wamid.new", "wamid.old"]
    assert found(store, "bob")[:2] == [h.message_id for h in store.search("bob", limit=2)]


def test_a_reaction_is_not_a_message_to_find(store: Store) -> None:
    store.apply(inbound("wamid.1", 0, "thanks"))
    store.apply(inbound("wamid.2", 1, "thanks", type="reaction"))
    assert found(store, "thanks") == ["wamid.1"]


@pytest.mark.parametrize(
    "query",
    ['"', '""', "'", "*", "-", "^", "refund OR", "NEAR(refund", "refund AND NOT", "body:refund",
     "\x00", "refund\x00", "(((", "\x1b[31m", "" , "   ", "…", "🙂", "x" * 100_000, "refund " * 5000],
)
def test_a_hostile_query_is_only_text(store: Store, query: str) -> None:
    store.apply(inbound("wamid.1", 0, 'the "refund" (AND) OR not: body:refund NEAR'))
    hits = store.search(query)
    assert all(h.message_id == "wamid.1" for h in hits)


def test_quotes_and_operators_in_a_query_are_words_like_any_other(store: Store) -> None:
    store.apply(inbound("wamid.1", 0, "refund"))
    store.apply(inbound("wamid.2", 1, "or near"))
    assert found(store, '"refund"') == ["wamid.1"]
    assert found(store, "OR") == ["wamid.2"]
    assert found(store, "NEAR(") == ["wamid.2"]


def test_what_was_found_is_found_after_a_restart(harness: StoreHarness, store: Store) -> None:
    store.apply(inbound("wamid.el", 0, "Καλημέρα"))
    store.apply(inbound("wamid.more", 1, "more text"))
    again = harness.reopen()
    assert found(again, "καλημερα") == ["wamid.el"]
    again.apply(inbound("wamid.after", 2, "καλημέρα ξανά"))
    assert found(again, "καλημερα") == ["wamid.after", "wamid.el"]


def _greek_then_killed(store: Store, clock: FrozenClock) -> None:
    store.apply(inbound("wamid.el", 0, "Καλημέρα"))
    store.apply(inbound("wamid.gu", 1, "નમસ્તે"))
    store.record_outgoing(outgoing("out-1", 2, "ευχαριστώ"))


def test_what_was_acknowledged_is_found_after_a_kill(harness: StoreHarness) -> None:
    again = harness.kill_and_reopen(_greek_then_killed)
    assert found(again, "ΚΑΛΗΜΕΡΑ") == ["wamid.el"]
    assert found(again, "નમસ્તે") == ["wamid.gu"]
    assert found(again, "ευχαριστω") == ["out-1"]
