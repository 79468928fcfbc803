"""A shard's two copies (desk/store/tiny/shard.py): each flush writes over the copy not read last,
in place; a copy cut short by a power cut is never the one read, or, when the index still names
it, the other copy and the journal stand in for it; a copy damaged with no recent twin is told."""

from __future__ import annotations

import io
from pathlib import Path

import orjson

from desk.store.tiny import TinyStore
from desk.store.tiny.files import shard_path, slot_path, written_at
from tests.test_store_faults import ALICE, A, crash, ids, inbound, opened
from tui import check


def copies(store: TinyStore) -> tuple[Path, Path]:
    first = shard_path(store.data_dir / "conversations", A)
    return first, slot_path(first, 1)


def cut_short(path: Path, content: bytes) -> None:
    """What a power cut in the middle of an in-place overwrite can leave: the new content's first
    half, then blocks the disk never got (zeros)."""
    half = len(content) // 2
    with path.open("r+b") as f:
        f.write(content[:half] + b"\0" * (len(content) - half))


def test_a_flush_writes_the_other_copy_and_the_index_names_the_current_one(data_dir: Path):
    store = opened(data_dir)
    store.apply(inbound(ALICE, "a1", 1))
    store.flush()
    first, second = copies(store)
    assert first.exists() and not second.exists() and store._index.slot(A) == 0
    store.apply(inbound(ALICE, "a2", 2))
    store.flush()
    assert store._index.slot(A) == 1
    assert written_at(orjson.loads(second.read_bytes())) > written_at(orjson.loads(first.read_bytes()))
    store.close()
    store = opened(data_dir)
    assert store._index.slot(A) == 1 and ids(store, A) == ["a1", "a2"]
    store.close()


def test_a_write_cut_short_over_the_copy_the_index_names_loses_nothing_and_tells_nothing(data_dir: Path, caplog):
    store = opened(data_dir)
    store.apply(inbound(ALICE, "a1", 1))
    store.apply(inbound(ALICE, "a2", 2))
    store.flush()  # slot 0 written; the index names it; the journal emptied
    first, second = copies(store)
    store.apply(inbound(ALICE, "a3", 3))
    store._write_shards()  # slot 1 is current now; the index on disk still names slot 0
    store.apply(inbound(ALICE, "a4", 4))  # in the journal only
    cut_short(first, second.read_bytes())  # the next flush, over slot 0, cut short
    crash(store)

    store = opened(data_dir)
    assert ids(store, A) == ["a1", "a2", "a3", "a4"]
    assert store.faults() == []  # nothing was lost: not a fault to tell the agent
    assert "did not parse; read its other copy" in caplog.text
    store.close()
    assert orjson.loads(first.read_bytes())  # written whole again over the cut-short copy
    store = opened(data_dir)
    assert ids(store, A) == ["a1", "a2", "a3", "a4"] and store.faults() == []
    store.close()


def test_a_damaged_copy_whose_twin_is_older_than_the_journal_is_told_and_rebuilt(data_dir: Path):
    store = opened(data_dir)
    store.apply(inbound(ALICE, "a1", 1))
    store.apply(inbound(ALICE, "a2", 2))
    store.flush()  # slot 0: a1 a2
    store.apply(inbound(ALICE, "a3", 3))
    store.flush()  # slot 1: a1 a2 a3, named by the index; the journal emptied after it
    store.apply(inbound(ALICE, "a4", 4))
    first, second = copies(store)
    crash(store)
    second.write_bytes(second.read_bytes()[:-40])  # damage (not a torn write: the twin is too old)

    store = opened(data_dir)
    [fault] = store.faults()
    assert fault.kind == "damaged" and fault.conversation_id == A and second.name in fault.sentence
    # The older copy, what the damaged one still holds whole, and the journal: a3 is the loss told.
    assert {"a1", "a2", "a4"} <= set(ids(store, A))
    assert any(p.name.startswith(second.name + ".damaged-") for p in second.parent.iterdir())
    store.close()


def written_twice(data_dir: Path) -> None:
    """a1 in both copies, a2 in slot 1 only (closed: the journal holds nothing)."""
    store = opened(data_dir)
    store.apply(inbound(ALICE, "a1", 1))
    store.flush()
    store.apply(inbound(ALICE, "a2", 2))
    store.close()


def test_the_index_rebuilt_from_the_files_reads_each_conversations_newest_copy(data_dir: Path):
    written_twice(data_dir)
    (data_dir / "index.json").unlink()
    store = opened(data_dir)
    assert ids(store, A) == ["a1", "a2"] and store.conversation(A).message_count == 2
    assert store._index.slot(A) == 1
    store.close()


def test_check_reads_the_newest_copy_and_finds_a_clean_directory(data_dir: Path):
    written_twice(data_dir)
    out = io.StringIO()
    assert check.main(data_dir, out=out) == 0, out.getvalue()


def test_a_reader_that_meets_a_copy_being_overwritten_reads_again_under_the_writers_lock(data_dir: Path):
    store = opened(data_dir)
    store.apply(inbound(ALICE, "a1", 1))
    store.close()
    store = opened(data_dir)  # A is not loaded: messages() reads its file
    real = store._read_transcript
    calls: list[bool] = []

    def torn_once(path, cid):
        calls.append(store._write_lock._is_owned())  # type: ignore[attr-defined]
        if len(calls) == 1:
            raise ValueError("unexpected end of data")  # the copy was being overwritten
        return real(path, cid)

    store._read_transcript = torn_once  # type: ignore[method-assign]
    assert ids(store, A) == ["a1"] and store.faults() == []
    assert calls == [False, True]
    store.close()


def test_check_tells_a_copy_not_read_that_does_not_parse_and_repair_writes_it_whole(data_dir: Path):
    written_twice(data_dir)  # slot 1 current
    first = shard_path(data_dir / "conversations", A)
    first.write_bytes(first.read_bytes()[:30])  # the copy a fall back would need
    out = io.StringIO()
    assert check.main(data_dir, out=out) == 1
    assert f"{first.name} does not parse" in out.getvalue() and "its other copy" in out.getvalue()
    assert check.main(data_dir, repair=True, out=io.StringIO()) == 0
    assert orjson.loads(first.read_bytes())  # whole again
    store = opened(data_dir)
    assert ids(store, A) == ["a1", "a2"] and store.faults() == []
    store.close()
