"""Reading: every conversation or one page of them in id order, those whose customer waits, one
summary, one transcript oldest first, and whether the store holds anything at all."""

from __future__ import annotations

import pytest

from desk.models import Customer, MessageStatus
from desk.store.contract import Store
from tests.store_contract.builders import ALICE, BN, BOB, CAROL, OTHER_BN, at, cid, inbound, outgoing, send, summary

CUSTOMERS = [Customer(f"1555000{n:04d}", f"Customer {n}") for n in (7, 3, 9, 1, 4, 8, 2)]


@pytest.fixture
def seven(store: Store) -> Store:
    """Seven conversations, written in an order that is not their ids'."""
    for number, customer in enumerate(CUSTOMERS):
        store.apply(inbound(f"wamid.{number}", number, customer=customer, bn=OTHER_BN if number % 3 == 0 else BN))
    return store


def test_a_new_store_is_empty(store: Store) -> None:
    assert store.is_empty()
    assert store.conversations() == []
    assert store.conversations(limit=5) == []


def test_a_store_with_a_conversation_is_not_empty(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    assert not store.is_empty()


def test_conversations_lists_every_conversation(seven: Store) -> None:
    listed = seven.conversations()
    assert len(listed) == len({c.id for c in listed}) == len(CUSTOMERS)
    assert {c.customer.id for c in listed} == {c.id for c in CUSTOMERS}


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 10])
def test_pages_of_conversations_are_in_id_order_disjoint_and_cover_all(seven: Store, limit: int) -> None:
    pages, after = [], None
    while page := seven.conversations(after=after, limit=limit):
        assert len(page) <= limit
        pages.append([c.id for c in page])
        after = page[-1].id
        assert len(pages) <= len(CUSTOMERS), "the pages never end"
    ids = [i for page in pages for i in page]
    assert ids == sorted(c.id for c in seven.conversations())
    assert all(len(page) == limit for page in pages[:-1])


def test_waiting_conversations_are_those_whose_customer_waits_for_our_reply(store: Store) -> None:
    store.apply(inbound("wamid.a", 0, customer=ALICE))
    store.apply(inbound("wamid.b", 0, customer=BOB))
    store.apply(inbound("wamid.c", 0, customer=CAROL))
    send(store, "answered", 1, "wamid.out-b", customer=BOB)
    store.record_outgoing(outgoing("refused", 1, customer=CAROL))
    store.update_outgoing(cid(CAROL), "refused", MessageStatus.SENDING, at=at(1))
    store.update_outgoing(cid(CAROL), "refused", MessageStatus.FAILED, at=at(1), error_code=131047)
    assert sorted(c.id for c in store.waiting_conversations()) == sorted([cid(ALICE), cid(CAROL)])
    assert summary(store, cid(ALICE)).waiting_since == at(0)


def test_conversation_is_one_summary_and_none_for_an_unknown_id(store: Store) -> None:
    store.apply(inbound("wamid.1", 0, "first"))
    store.apply(inbound("wamid.2", 1, "second"))
    found = summary(store, cid())
    assert (found.id, found.customer, found.message_count, found.preview) == (cid(), ALICE, 2, "second")
    assert (found.last_inbound_at, found.last_message_at, found.unread) == (at(1), at(1), 2)
    assert found in store.conversations()
    assert store.conversation(cid(BOB)) is None


def test_messages_are_oldest_first_by_timestamp_then_arrival(store: Store) -> None:
    store.apply(inbound("wamid.m5", 5))
    store.apply(inbound("wamid.m1", 1))
    store.apply(inbound("wamid.z3", 3))
    store.apply(inbound("wamid.a3", 3))
    store.record_outgoing(outgoing("local-2", 2))
    assert [m.id for m in store.messages(cid())] == ["wamid.m1", "local-2", "wamid.z3", "wamid.a3", "wamid.m5"]


def test_an_unknown_conversation_has_no_messages(store: Store) -> None:
    assert store.messages(cid(BOB)) == []
