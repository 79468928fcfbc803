"""What we know of a customer after each of their messages: what a later message brings replaces
ours, except a stand-in name (WhatsApp sends no profile with some messages, and the customer is
then named by number), which never replaces a real name."""

from __future__ import annotations

import pytest

from desk.models import Customer
from desk.store.contract import Store
from tests.store_contract.builders import ALICE, cid, inbound, summary
from tests.store_contract.harness import StoreHarness


def customer_after(store: Store, *customers: Customer) -> Customer:
    for number, customer in enumerate(customers):
        store.apply(inbound(f"wamid.{number}", number, customer=customer))
    return summary(store, cid(ALICE)).customer


def test_a_later_message_brings_the_customers_new_details(store: Store) -> None:
    moved = Customer(ALICE.id, "Alice Walker", phone="+15559876543", username="alice.w", country="CA")
    assert customer_after(store, ALICE, moved) == moved


def test_details_a_later_message_does_not_carry_are_kept(store: Store) -> None:
    known = Customer(ALICE.id, "Alice", phone="+15551234567", username="alice.w", country="US")
    bare = Customer(ALICE.id, "Alice W.")
    assert customer_after(store, known, bare) == Customer(
        ALICE.id, "Alice W.", phone="+15551234567", username="alice.w", country="US"
    )


@pytest.mark.parametrize(
    "stand_in",
    [
        Customer(ALICE.id, "", phone="+15551234567"),
        Customer(ALICE.id, "+15551234567", phone="+15551234567"),
        Customer(ALICE.id, "alice.w", phone="+15551234567", username="alice.w"),
        Customer(ALICE.id, ALICE.id, phone="+15551234567"),
    ],
    ids=["empty", "the-phone", "the-username", "the-id"],
)
def test_a_stand_in_name_never_replaces_a_real_one(store: Store, stand_in: Customer) -> None:
    assert customer_after(store, ALICE, stand_in).name == "Alice"


def test_a_real_name_replaces_a_stand_in(store: Store) -> None:
    by_number = Customer(ALICE.id, "+15551234567", phone="+15551234567")
    assert customer_after(store, by_number, ALICE).name == "Alice"


def test_the_conversation_takes_the_language_the_customer_writes_in(harness: StoreHarness, store: Store) -> None:
    store.apply(inbound("wamid.1", 0, "Hola, buenos días. Mi pedido no ha llegado todavía."))
    assert summary(store, cid()).language == "es"
    store.apply(inbound("wamid.2", 1, "ok"))  # too short to say: the language stays
    store.apply(inbound("wamid.3", 2, "👍", type="reaction"))
    assert summary(harness.reopen(), cid()).language == "es"
