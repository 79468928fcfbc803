"""The TinyStore's search index (desk/store/tiny/search_index.py): a cache beside the store whose
loss, damage or lag never loses a message and never stops a write; rebuilt and caught up."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desk.clock import FrozenClock
from desk.store.contract import Store
from desk.store.tiny import TinyStore
from desk.store.tiny.search_index import SearchIndex
from tests.store_contract.builders import BOB, NOW, inbound, outgoing
from tests.test_store_faults import crash

QUERIES = ["καλημερα", "ΚΑΛΗΜΕΡΑ", "નમસ્તે", "مرحبا", "refund", "ref ord", "bob", "alice", "1234567", "a", "zz", '"or']


def write_some(store: TinyStore) -> None:
    store.apply(inbound("wamid.el", 0, "Καλημέρα, πού είναι η παραγγελία;"))
    store.apply(inbound("wamid.gu", 1, "નમસ્તે મિત્ર"))
    store.apply(inbound("wamid.ar", 2, "مَرْحَبًا، a refund for order 7", customer=BOB))
    store.record_outgoing(outgoing("out-1", 3, "Refund ordered, Bob"))


def ids(store: Store, query: str) -> list[tuple[str, str | None]]:
    return [(h.conversation_id, h.message_id) for h in store.search(query)]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def opened(data_dir: Path) -> TinyStore:
    store = TinyStore(data_dir, clock=FrozenClock(NOW))
    store.open()
    return store


@pytest.fixture
def written(data_dir: Path) -> dict[str, list[tuple[str, str | None]]]:
    """A store written and closed; what each query found."""
    store = opened(data_dir)
    write_some(store)
    expected = {q: ids(store, q) for q in QUERIES}
    store.close()
    return expected


def test_the_index_finds_what_the_contracts_scan_finds(data_dir: Path) -> None:
    store = opened(data_dir)
    write_some(store)
    for query in QUERIES:
        indexed, scanned = store.search(query), Store.search(store, query)
        assert indexed == scanned, query
    assert store.search("καλημερα") and store.search("નમસ્તે") and store.search("مرحبا")
    store.close()


@pytest.mark.parametrize("harm", ["deleted", "damaged", "emptied"])
def test_a_lost_or_damaged_index_is_rebuilt_and_finds_everything(
    data_dir: Path, written: dict[str, list[tuple[str, str | None]]], harm: str
) -> None:
    path = data_dir / "search.sqlite"
    if harm == "deleted":
        path.unlink()
    elif harm == "damaged":
        path.write_bytes(b"not a database, a disk's garbage " * 200)
    else:
        path.write_bytes(b"")
    store = opened(data_dir)
    assert store.wait_search(30)
    assert {q: ids(store, q) for q in QUERIES} == written
    assert not store.faults()  # told while it was rebuilt, then cleared
    store.close()
    again = opened(data_dir)  # and it is whole now: no second rebuild
    assert again.wait_search(0)
    assert {q: ids(again, q) for q in QUERIES} == written
    again.close()


def test_a_rebuild_is_told_as_a_fault_until_it_is_done(data_dir: Path, written: object, caplog: pytest.LogCaptureFixture) -> None:
    (data_dir / "search.sqlite").unlink()
    store = opened(data_dir)
    store.wait_search(30)
    store.close()
    assert any("search index" in r.getMessage() and "rebuilt from the conversations" in r.getMessage() for r in caplog.records)
    assert any(r.getMessage().startswith("resolved: The search index") for r in caplog.records)


def test_an_index_behind_the_journal_catches_up_at_open(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = opened(data_dir)
    store.apply(inbound("wamid.1", 0, "first words"))
    with monkeypatch.context() as patched:
        patched.setattr(SearchIndex, "note", lambda self, journaled: None)  # the index lags
        store.apply(inbound("wamid.2", 1, "second words"))
        assert ids(store, "second") == []
    crash(store)  # what a kill leaves: no flush, the journal not emptied
    again = opened(data_dir)
    assert again.wait_search(0)  # caught up from the journal, no rebuild
    assert [m for _, m in ids(again, "words")] == ["wamid.2", "wamid.1"]
    again.close()


def test_an_index_behind_an_emptied_journal_is_rebuilt(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = opened(data_dir)
    store.apply(inbound("wamid.1", 0, "first words"))
    with monkeypatch.context() as patched:
        patched.setattr(SearchIndex, "note", lambda self, journaled: None)
        store.apply(inbound("wamid.2", 1, "second words"))
        store.close()  # the journal is emptied: only the conversations have wamid.2 now
    again = opened(data_dir)
    assert again.wait_search(30)
    assert [m for _, m in ids(again, "words")] == ["wamid.2", "wamid.1"]
    again.close()


def test_an_index_that_cannot_be_written_never_fails_a_write(data_dir: Path) -> None:
    store = opened(data_dir)
    store.apply(inbound("wamid.1", 0, "first words"))
    store._search._db.close()  # what a disk that fails the index would do: every write raises
    assert store.apply(inbound("wamid.2", 1, "second words")) is not None
    [fault] = store.faults()
    assert fault.kind == "search" and "no message is lost" in fault.sentence
    # Searches read the conversations instead, and find everything.
    assert [m for _, m in ids(store, "words")] == ["wamid.2", "wamid.1"]
    store._search._db = None
    store.close()
    again = opened(data_dir)  # the next start rebuilds it
    assert again.wait_search(30)
    assert [m for _, m in ids(again, "words")] == ["wamid.2", "wamid.1"]
    again.close()


def test_reindex_rebuilds_it_now(data_dir: Path, written: dict[str, list[tuple[str, str | None]]]) -> None:
    store = opened(data_dir)
    with sqlite3.connect(data_dir / "search.sqlite") as db:
        db.execute("DELETE FROM messages")  # what is in the index no longer matches
    assert store.reindex() == 2
    assert {q: ids(store, q) for q in QUERIES} == written
    store.close()


def test_wadesk_reindex_rebuilds_it_and_says_so(data_dir: Path, written: object, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    (data_dir / "search.sqlite").write_bytes(b"garbage")
    assert main(["reindex", "--data-dir", str(data_dir)]) == 0
    assert "The search index was rebuilt: 2 conversation(s)" in capsys.readouterr().out
    store = opened(data_dir)
    assert store.wait_search(0) and ids(store, "καλημερα") == [(ids(store, "alice")[0][0], "wamid.el")]
    store.close()


def test_wadesk_reindex_beside_a_running_desk_says_it_cannot(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    store = opened(data_dir)
    try:
        assert main(["reindex", "--data-dir", str(data_dir)]) == 1
        assert "reindex again" in capsys.readouterr().out
    finally:
        store.close()
