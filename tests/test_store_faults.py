"""One conversation's file that cannot be read or written never stops the others; the index is a
cache of the shards, reconciled at open. Real files; ENOSPC and EIO injected at the write/read."""

from __future__ import annotations

import errno
import logging
import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

import desk.store.tiny.files as files_module
import desk.store.tiny.journal as journal_module
import desk.store.tiny.shard as shard_module
from desk.clock import FrozenClock
from desk.models import Customer, Direction, Message, MessageReceived, MessageStatus, conversation_id
from desk.store import StoreUnavailable
from desk.store.tiny import TinyStore
from desk.store.tiny.files import shard_path, slot_path

BN = "106540352242922"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ALICE = Customer("15551234567", "Alice")
BOB = Customer("15557654321", "Bob")
A = conversation_id(BN, ALICE.id)
B = conversation_id(BN, BOB.id)


def inbound(customer: Customer, mid: str, minute: int = 0, bn: str = BN) -> MessageReceived:
    cid = conversation_id(bn, customer.id)
    message = Message(mid, cid, Direction.INBOUND, "text", T0 + timedelta(minutes=minute), MessageStatus.RECEIVED, mid)
    return MessageReceived(bn, customer, message)


def ids(store: TinyStore, cid: str) -> list[str]:
    return [m.id for m in store.messages(cid)]


def opened(data_dir: Path) -> TinyStore:
    store = TinyStore(data_dir, clock=FrozenClock(T0 + timedelta(hours=1)))
    store.open()
    return store


def crash(store: TinyStore) -> None:
    """Drop the store as a kill would: no flush, only the OS locks go (the search index's SQLite
    lock too, and what it had not committed)."""
    store._journal.close()
    store._lock.release()
    if store._search._db is not None:
        store._search._db.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    store = opened(tmp_path / "data")
    store.apply(inbound(ALICE, "a1", 1))
    store.apply(inbound(ALICE, "a2", 2))
    store.apply(inbound(BOB, "b1", 3))
    store.close()
    return tmp_path / "data"


def fail_for(path: Path, error: int, real):
    """`real`, failing with `error` for the shard at `path` (either of its two copies)."""

    def fake(target, *args, **kwargs):
        if Path(target) in (path, slot_path(path, 1)):
            raise OSError(error, os.strerror(error))
        return real(target, *args, **kwargs)

    return fake


# --- a damaged shard ----------------------------------------------------------------------------------


def test_a_truncated_shard_is_moved_aside_rebuilt_and_never_stops_the_others(data_dir: Path):
    path = shard_path(data_dir / "conversations", A)
    damaged = path.read_bytes()[:40]
    path.write_bytes(damaged)

    store = opened(data_dir)
    assert store.conversation(A).customer.name == "Alice"  # still listed, from the index
    assert ids(store, A) == []  # opening it never raises
    [fault] = store.faults()
    assert fault.conversation_id == A and fault.path == path

    assert store.apply(inbound(ALICE, "a3", 4)) == A
    assert store.apply(inbound(BOB, "b2", 5)) == B
    assert ids(store, A) == ["a3"] and ids(store, B) == ["b1", "b2"]
    assert store.conversation(A).customer.name == "Alice"
    [fault] = store.faults()
    assert fault.kind == "damaged" and A in fault.sentence and str(path) in fault.sentence
    aside = path.with_name(path.name + ".damaged-1")
    assert aside.read_bytes() == damaged  # kept, never deleted
    store.close()

    store = opened(data_dir)
    assert ids(store, A) == ["a3"] and ids(store, B) == ["b1", "b2"]
    assert store.faults() == []
    store.close()


def test_a_damaged_shard_is_rebuilt_from_what_the_journal_holds(data_dir: Path):
    store = opened(data_dir)
    store.apply(inbound(ALICE, "a3", 4))
    crash(store)  # a3 is in the journal (and its shard), not yet in the index
    path = shard_path(data_dir / "conversations", A)
    path.write_bytes(b'{"conversation": {"1": {"id": ')

    store = opened(data_dir)
    assert ids(store, A) == ["a3"]
    assert store.conversation(A).message_count == 1
    assert "(1 event(s))" in store.faults()[0].sentence
    store.close()


def test_what_a_truncated_shard_still_holds_whole_is_kept(tmp_path: Path):
    store = opened(tmp_path / "data")
    for n in range(40):
        store.apply(inbound(ALICE, f"m{n:02d}", n))
    store.close()  # the index and the shard hold all 40; the journal holds none of them
    path = shard_path(tmp_path / "data" / "conversations", A)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2])  # cut in the middle of a message

    store = opened(tmp_path / "data")
    store.messages(A)  # a reader meets the damage ...
    store.retry()  # ... and the writer's next retry (every few seconds in the desk) rebuilds it
    kept = ids(store, A)
    assert 15 <= len(kept) < 40 and kept == [f"m{n:02d}" for n in range(len(kept))]  # in order, none invented
    assert store.conversation(A).customer.name == "Alice"
    [fault] = store.faults()
    assert f"rebuilt from the {len(kept)} message(s) still whole in it" in fault.sentence
    store.close()
    store = opened(tmp_path / "data")
    assert ids(store, A) == kept and store.faults() == []
    store.close()


# --- a shard that cannot be written or read -----------------------------------------------------------


def test_a_full_disk_on_one_shard_holds_its_events_and_retry_writes_them(data_dir: Path, monkeypatch):
    store = opened(data_dir)
    store.INDEX_FLUSH_RECORDS = 1  # a flush after every record must not drop what is held
    path = shard_path(data_dir / "conversations", A)
    monkeypatch.setattr(shard_module, "overwrite", fail_for(path, errno.ENOSPC, shard_module.overwrite))

    assert store.apply(inbound(ALICE, "a3", 4)) == A  # durable (journal), not yet in its file
    assert store.apply(inbound(BOB, "b2", 5)) == B  # the others flow on
    store.apply(inbound(ALICE, "a4", 6))
    assert ids(store, A) == ["a1", "a2", "a3", "a4"]
    [fault] = store.faults()
    assert fault.kind == "unwritable" and fault.conversation_id == A
    assert str(path) in fault.sentence and "the disk is full" in fault.sentence
    assert store.retry() == set()  # still full
    assert len(store.faults()) == 1

    monkeypatch.undo()  # space is back
    assert store.retry() == {A}
    assert store.faults() == []
    assert store.conversation(A).message_count == 4
    crash(store)
    store = opened(data_dir)
    assert ids(store, A) == ["a1", "a2", "a3", "a4"] and ids(store, B) == ["b1", "b2"]
    store.close()


def test_held_events_survive_a_crash_while_the_disk_is_full(data_dir: Path, monkeypatch):
    store = opened(data_dir)
    store.INDEX_FLUSH_RECORDS = 1
    path = shard_path(data_dir / "conversations", A)
    monkeypatch.setattr(shard_module, "overwrite", fail_for(path, errno.ENOSPC, shard_module.overwrite))
    store.apply(inbound(ALICE, "a3", 4))
    store.apply(inbound(BOB, "b2", 5))  # flushes the index: a3 must stay in the journal
    store.close()
    monkeypatch.undo()
    store = opened(data_dir)
    assert ids(store, A) == ["a1", "a2", "a3"]
    store.close()


def test_an_io_error_reading_one_shard_holds_its_events(data_dir: Path, monkeypatch):
    path = shard_path(data_dir / "conversations", A)
    monkeypatch.setattr(files_module, "read_json", fail_for(path, errno.EIO, files_module.read_json))
    store = opened(data_dir)
    assert ids(store, A) == []
    assert store.apply(inbound(ALICE, "a3", 4)) is None  # held in the journal
    assert store.apply(inbound(BOB, "b2", 5)) == B
    [fault] = store.faults()
    assert fault.kind == "unreadable" and str(path) in fault.sentence and "input/output error" in fault.sentence
    assert store.retry() == set()
    monkeypatch.undo()
    assert store.retry() == {A}
    assert ids(store, A) == ["a1", "a2", "a3"] and store.faults() == []
    store.close()


def test_a_full_disk_on_the_journal_stores_nothing_and_says_so(data_dir: Path, monkeypatch):
    store = opened(data_dir)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(journal_module, "_fdatasync", full)
    with pytest.raises(StoreUnavailable) as caught:
        store.apply(inbound(BOB, "b2", 5))
    assert caught.value.fault.kind == "journal" and "journal.jsonl" in str(caught.value)
    assert [f.kind for f in store.faults()] == ["journal"]
    assert ids(store, B) == ["b1"]
    monkeypatch.undo()
    assert store.apply(inbound(BOB, "b2", 5)) == B
    assert store.faults() == []
    store.close()
    store = opened(data_dir)
    assert ids(store, B) == ["b1", "b2"]
    store.close()


# --- the index is a cache of the shards -----------------------------------------------------------------


def test_a_removed_index_is_rebuilt_with_a_warning(data_dir: Path, caplog):
    (data_dir / "index.json").unlink()
    with caplog.at_level(logging.WARNING):
        store = opened(data_dir)
    assert {c.id for c in store.conversations()} == {A, B}
    assert "index" in caplog.text and "rebuil" in caplog.text
    store.close()


def test_an_older_copy_of_the_index_is_seen_and_rebuilt(data_dir: Path, caplog):
    old = (data_dir / "index.json").read_bytes()
    carol = Customer("15550000003", "Carol")
    store = opened(data_dir)
    store.apply(inbound(carol, "c1", 7))
    store.apply(inbound(ALICE, "a3", 8))
    store.close()
    (data_dir / "index.json").write_bytes(old)
    with caplog.at_level(logging.WARNING):
        store = opened(data_dir)
    assert {c.id for c in store.conversations()} == {A, B, conversation_id(BN, carol.id)}
    assert store.conversation(A).message_count == 3
    assert "older than the journal" in caplog.text
    store.close()


@pytest.mark.parametrize("damage", ["garbled", "lost"])
def test_a_conversation_missing_from_the_index_after_a_kill_is_listed(data_dir: Path, damage: str, caplog):
    carol = Customer("15550000003", "Carol")
    store = opened(data_dir)
    store.apply(inbound(carol, "c1", 7))
    store._write_shards()  # a shard flush: its shard is written; the index is not
    crash(store)
    journal = data_dir / "journal.jsonl"
    if damage == "garbled":
        lines = journal.read_bytes().split(b"\n")
        journal.write_bytes(b"\n".join([b"\x00garbage" + line[8:] for line in lines[:-1]] + [lines[-1]]))
    else:
        journal.unlink()
    with caplog.at_level(logging.WARNING):
        store = opened(data_dir)
    assert {c.id for c in store.conversations()} == {A, B, conversation_id(BN, carol.id)}
    assert "rebuilding the index" in caplog.text
    store.close()


def test_a_shard_file_the_index_does_not_list_is_added_at_open(data_dir: Path, caplog):
    other = data_dir.parent / "other"
    store = opened(other)
    carol = Customer("15550000003", "Carol")
    store.apply(inbound(carol, "c1", 7))
    store.close()
    source = shard_path(other / "conversations", conversation_id(BN, carol.id))
    target = shard_path(data_dir / "conversations", conversation_id(BN, carol.id))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, target)  # e.g. restored from a backup
    with caplog.at_level(logging.WARNING):
        store = opened(data_dir)
    assert conversation_id(BN, carol.id) in {c.id for c in store.conversations()}
    assert "added 1 conversation(s)" in caplog.text
    store.close()


def test_a_data_directory_from_before_start_marks_opens_without_a_rebuild(data_dir: Path, caplog):
    (data_dir / "journal.jsonl").write_bytes(b"")  # what the older store left after a flush
    index = orjson.loads((data_dir / "index.json").read_bytes())
    del index["meta"]["1"]["shards"]
    (data_dir / "index.json").write_bytes(orjson.dumps(index))
    with caplog.at_level(logging.WARNING):
        store = opened(data_dir)
    assert {c.id for c in store.conversations()} == {A, B}
    assert "rebuil" not in caplog.text and "did not match" not in caplog.text
    store.close()


@pytest.mark.parametrize("name", ["drafts.json", "tabs.json", "quick_replies.json", "templates.json", "customers.json"])
def test_a_damaged_sidecar_is_kept_aside_told_and_never_stops_the_store(tmp_path: Path, name: str) -> None:
    data_dir = tmp_path / "data"
    store = TinyStore(data_dir)
    store.open()
    store.save_tabs("ana", ["a~b"])
    store.close()
    (data_dir / name).write_bytes(b'{"not json')
    store = TinyStore(data_dir)
    store.open()  # opens all the same
    store.customer_profile("15551234567")  # customers.json is read on first use
    [fault] = [f for f in store.faults() if f.path.name == name]
    assert "could not be read" in fault.sentence and f"{name}.damaged-1" in fault.sentence
    assert (data_dir / f"{name}.damaged-1").read_bytes() == b'{"not json'  # kept, never deleted
    store.save_tabs("ana", ["c~d"])  # and it writes again
    assert store.tabs("ana") == ["c~d"]
    store.close()
