"""WhatsApp's pricing of our messages (the `pricing` of a status webhook) is kept on the message:
from the status that carries it, whenever it comes (before we know the wamid, or late, after a
status that moved the message further), never erased by a later status without it, and kept
across a restart."""

from __future__ import annotations

from dataclasses import replace

import pytest

from desk.models import MessageStatus, Pricing
from desk.store.contract import Store
from tests.store_contract.builders import at, cid, inbound, message, outgoing, send, status
from tests.store_contract.harness import StoreHarness

UTILITY_FREE = Pricing(False, "utility", "PMP", "free_customer_service")
MARKETING = Pricing(True, "marketing", "PMP", "regular")


def priced(wamid: str, st: MessageStatus, minutes: float, pricing: Pricing):
    return replace(status(wamid, st, minutes), pricing=pricing)


@pytest.fixture
def sent(store: Store) -> Store:
    """Alice wrote, and our reply "local-1" was accepted by WhatsApp as wamid.out."""
    store.apply(inbound("wamid.in", 0))
    send(store, "local-1", 1, "wamid.out")
    return store


def test_a_status_with_pricing_is_kept_on_the_message(sent: Store) -> None:
    assert sent.apply(priced("wamid.out", MessageStatus.SENT, 2, UTILITY_FREE)) == cid()
    assert message(sent, "local-1").pricing == UTILITY_FREE


def test_a_later_status_without_pricing_does_not_erase_it(sent: Store) -> None:
    sent.apply(priced("wamid.out", MessageStatus.DELIVERED, 2, MARKETING))
    assert sent.apply(status("wamid.out", MessageStatus.READ, 3)) == cid()
    ours = message(sent, "local-1")
    assert (ours.status, ours.pricing) == (MessageStatus.READ, MARKETING)


def test_a_late_status_still_brings_the_pricing_the_message_lacks(sent: Store) -> None:
    # v24 sends pricing on `sent` and on one of delivered/read: the `sent` may come last.
    sent.apply(status("wamid.out", MessageStatus.READ, 3))
    assert sent.apply(priced("wamid.out", MessageStatus.SENT, 2, MARKETING)) == cid()
    ours = message(sent, "local-1")
    assert (ours.status, ours.status_at, ours.pricing) == (MessageStatus.READ, at(3), MARKETING)
    assert sent.apply(priced("wamid.out", MessageStatus.SENT, 2, MARKETING)) is None  # the same again: nothing


def test_pricing_that_comes_before_the_wamid_is_known_is_kept(store: Store) -> None:
    store.apply(inbound("wamid.in", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(1))
    store.apply(priced("wamid.out", MessageStatus.SENT, 2, UTILITY_FREE))
    store.apply(status("wamid.out", MessageStatus.DELIVERED, 3))
    ours = store.update_outgoing(cid(), "local-1", MessageStatus.SENT, at=at(1), wamid="wamid.out")
    assert (ours.status, ours.pricing) == (MessageStatus.DELIVERED, UTILITY_FREE)


def test_pricing_is_kept_across_a_restart(harness: StoreHarness, sent: Store) -> None:
    sent.apply(priced("wamid.out", MessageStatus.SENT, 2, MARKETING))
    assert message(harness.reopen(), "local-1").pricing == MARKETING
