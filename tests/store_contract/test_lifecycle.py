"""One owner at a time for the embedded store: open() takes the data or refuses with StoreLocked,
close() gives it back; a shared store opens beside another (hub replicas) and each sees the
other's writes. A store that is well reports no faults and has nothing to retry."""

from __future__ import annotations

import pytest

from desk.store import StoreLocked
from desk.store.contract import Store
from tests.store_contract.builders import cid, inbound
from tests.store_contract.harness import StoreHarness


def test_a_second_owner_is_refused_until_the_first_closes_or_shares_a_shared_store(harness: StoreHarness) -> None:
    store = harness.open()
    store.apply(inbound("wamid.1", 0))
    second = harness.another()
    if harness.shared:
        second.open()
        second.apply(inbound("wamid.2", 1))
        assert [m.id for m in store.messages(cid())] == ["wamid.1", "wamid.2"]
        store.close()
        assert [m.id for m in second.messages(cid())] == ["wamid.1", "wamid.2"]
        second.close()
        return
    with pytest.raises(StoreLocked):
        second.open()
    store.close()
    second.open()
    try:
        assert [m.id for m in second.messages(cid())] == ["wamid.1"]
    finally:
        second.close()


def test_a_store_that_is_well_has_no_faults_and_nothing_to_retry(store: Store) -> None:
    store.apply(inbound("wamid.1", 0))
    assert store.faults() == []
    assert store.retry() == set()
