"""One owner at a time: open() takes the data or refuses with StoreLocked, close() gives it back;
a store that is well reports no faults and has nothing to retry."""

from __future__ import annotations

import pytest

from desk.store import StoreLocked
from desk.store.contract import Store
from tests.store_contract.builders import cid, inbound
from tests.store_contract.harness import StoreHarness


def test_a_second_owner_is_refused_until_the_first_closes(harness: StoreHarness) -> None:
    store = harness.open()
    store.apply(inbound("wamid.1", 0))
    second = harness.another()
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
