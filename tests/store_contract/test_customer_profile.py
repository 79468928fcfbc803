"""The agents' notes and custom attributes about a customer: kept per customer (whichever business
number they write to), as typed, checked and bounded on the way in, stamped with who and when,
replaced whole by a save, removed by an empty one, kept across a restart and a kill, and no
change to a conversation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk.clock import FrozenClock
from desk.customer import ATTRIBUTES_MAX, NOTES_MAX, CustomerProfile
from desk.store.contract import Store
from tests.store_contract.builders import ALICE, BOB, NOW, OTHER_BN, inbound
from tests.store_contract.harness import StoreHarness

VIP = CustomerProfile("Prefers Spanish.\nCall after 5 pm.", (("plan", "gold"), ("order", "#A-1042")))


def kept(profile: CustomerProfile) -> tuple[str, tuple[tuple[str, str], ...]]:
    return profile.notes, profile.attributes


def test_a_customer_nobody_wrote_about_has_an_empty_profile(store: Store) -> None:
    assert store.customer_profile(ALICE.id) == CustomerProfile()


def test_a_profile_is_kept_with_who_and_when(store: Store, clock: FrozenClock) -> None:
    saved = store.save_customer_profile(ALICE.id, VIP, agent="Ana")
    assert saved == CustomerProfile(VIP.notes, VIP.attributes, NOW, "Ana")
    assert store.customer_profile(ALICE.id) == saved
    assert store.customer_profile(BOB.id) == CustomerProfile()


def test_the_profile_is_the_customers_whichever_business_number_they_write_to(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 1, bn=OTHER_BN))
    store.save_customer_profile(ALICE.id, VIP, agent="Ana")
    conversations = [c for c in store.conversations() if c.customer.id == ALICE.id]
    assert len(conversations) == 2
    assert {kept(store.customer_profile(c.customer.id)) for c in conversations} == {kept(VIP)}


def test_a_save_replaces_the_whole_profile_and_restamps_it(store: Store, clock: FrozenClock) -> None:
    store.save_customer_profile(ALICE.id, VIP, agent="Ana")
    clock.advance(timedelta(minutes=5))
    changed = CustomerProfile("Moved to Madrid.", (("plan", "silver"),))
    saved = store.save_customer_profile(ALICE.id, changed, agent="Ben")
    assert store.customer_profile(ALICE.id) == saved == CustomerProfile(
        "Moved to Madrid.", (("plan", "silver"),), NOW + timedelta(minutes=5), "Ben"
    )


def test_the_same_notes_and_attributes_again_keep_the_stamp(store: Store, clock: FrozenClock) -> None:
    first = store.save_customer_profile(ALICE.id, VIP, agent="Ana")
    clock.advance(timedelta(minutes=5))
    assert store.save_customer_profile(ALICE.id, VIP, agent="Ben") == first


def test_an_empty_profile_removes_what_was_kept(harness: StoreHarness, store: Store) -> None:
    store.save_customer_profile(ALICE.id, VIP, agent="Ana")
    assert store.save_customer_profile(ALICE.id, CustomerProfile(), agent="Ana") == CustomerProfile()
    assert harness.reopen().customer_profile(ALICE.id) == CustomerProfile()


def test_it_is_tidied_and_kept_as_typed_however_hostile(store: Store) -> None:
    hostile = "[b]bold[/b] \x1b]0;owned\x07 \u202eevil [@click=app.quit]x[/]"
    saved = store.save_customer_profile(
        ALICE.id, CustomerProfile(f"\n  {hostile}\r\nline two  \n\n", ((" tier ", " [red]vip "), ("url", "https://x.y/a:b")))
    )
    assert kept(saved) == (f"{hostile}\nline two", (("tier", "[red]vip"), ("url", "https://x.y/a:b")))
    assert kept(store.customer_profile(ALICE.id)) == kept(saved)


@pytest.mark.parametrize(
    ("profile", "says"),
    [
        (CustomerProfile("x" * (NOTES_MAX + 1)), f"at most {NOTES_MAX:,}"),
        (CustomerProfile("", tuple((f"k{n}", "v") for n in range(ATTRIBUTES_MAX + 1))), f"at most {ATTRIBUTES_MAX}"),
        (CustomerProfile("", (("", "gold"),)), "no name"),
        (CustomerProfile("", (("plan", " "),)), "no value"),
        (CustomerProfile("", (("k" * 41, "v"),)), "name longer than 40"),
        (CustomerProfile("", (("plan", "v" * 201),)), "at most 200"),
        (CustomerProfile("", (("a:b", "v"),)), "a \":\" or a line break"),
        (CustomerProfile("", (("a\nb", "v"),)), "a \":\" or a line break"),
        (CustomerProfile("", (("plan", "gold\nsilver"),)), "more than one line"),
        (CustomerProfile("", (("Plan", "gold"), ("plan", "silver"))), "given twice"),
    ],
)
def test_what_is_too_long_or_not_key_and_value_is_refused_in_a_sentence(
    store: Store, profile: CustomerProfile, says: str
) -> None:
    store.save_customer_profile(ALICE.id, VIP, agent="Ana")
    with pytest.raises(ValueError, match=says):
        store.save_customer_profile(ALICE.id, profile, agent="Ana")
    assert kept(store.customer_profile(ALICE.id)) == kept(VIP)


def test_profiles_are_no_change_to_a_conversation(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    before = store.last_change()
    store.save_customer_profile(ALICE.id, VIP, agent="Ana")
    store.save_customer_profile(ALICE.id, CustomerProfile(), agent="Ana")
    assert store.last_change() == before


def test_profiles_survive_a_reopen(harness: StoreHarness) -> None:
    store = harness.open()
    store.save_customer_profile(ALICE.id, VIP, agent="Ana")
    store.save_customer_profile(BOB.id, CustomerProfile("Bob's note"), agent="Ana")
    store.save_customer_profile(BOB.id, CustomerProfile("", (("vip", "yes"),)), agent="Ben")
    store = harness.reopen()
    assert store.customer_profile(ALICE.id) == CustomerProfile(VIP.notes, VIP.attributes, NOW, "Ana")
    assert store.customer_profile(BOB.id) == CustomerProfile("", (("vip", "yes"),), NOW, "Ben")


def _profile_writes(store: Store, clock: FrozenClock) -> CustomerProfile:
    store.save_customer_profile(BOB.id, CustomerProfile("gone soon"), agent="Ana")
    store.save_customer_profile(BOB.id, CustomerProfile(), agent="Ana")
    clock.advance(timedelta(minutes=3))
    return store.save_customer_profile(ALICE.id, VIP, agent="Ana")


def test_profiles_survive_a_kill(harness: StoreHarness) -> None:
    store = harness.kill_and_reopen(_profile_writes)
    assert store.customer_profile(ALICE.id) == harness.acknowledged == CustomerProfile(
        VIP.notes, VIP.attributes, NOW + timedelta(minutes=3), "Ana"
    )
    assert store.customer_profile(BOB.id) == CustomerProfile()
