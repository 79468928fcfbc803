"""`wadesk check [--repair]` (tui.check.main) on real data directories damaged in each way: a
truncated shard, a changed byte in the spool, a removed or stale index, acknowledged webhook bodies
never applied; --repair leaves a directory that check finds clean, with every message."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from backends.cloud.spool import Spool
from desk.store.tiny import TinyStore
from desk.store.tiny.files import shard_path
from emulator.encode import webhook_bytes, webhook_for
from tests.test_store_faults import ALICE, BN, BOB, A, B, inbound, opened
from tui.check import main

CAROL_ID = "15550000003"


def body(event) -> bytes:
    return webhook_bytes(webhook_for([event], waba_id="waba", display_numbers={BN: "+1 555 0100"}))


async def spool_bodies(data_dir: Path, events, *, done: bool) -> list[int]:
    spool = Spool(data_dir)
    spool.open()
    seqs = [await spool.append(body(e)) for e in events]
    if done:
        spool.done(seqs[-1])
    spool.close()
    return seqs


EVENTS = [inbound(ALICE, f"a{i}", i) for i in range(1, 4)] + [inbound(BOB, f"b{i}", 10 + i) for i in range(1, 3)]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A store and its spool telling the same story, as the pump leaves them."""
    data_dir = tmp_path / "data"
    store = opened(data_dir)
    for event in EVENTS:
        store.apply(event)
    store.close()
    asyncio.run(spool_bodies(data_dir, EVENTS, done=True))
    return data_dir


def check(data_dir: Path, repair: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    code = main(data_dir, repair=repair, out=out)
    return code, out.getvalue()


def all_messages(data_dir: Path) -> dict[str, list[str]]:
    with TinyStore(data_dir) as store:
        return {c.id: [m.id for m in store.messages(c.id)] for c in store.conversations()}


EVERYTHING = {A: ["a1", "a2", "a3"], B: ["b1", "b2"]}


def test_a_sound_directory_is_clean(data_dir: Path):
    code, out = check(data_dir)
    assert code == 0, out
    assert "Clean: 2 conversations, 5 messages, 5 webhook bodies" in out


def test_a_truncated_shard_is_found_and_repaired_from_the_spool(data_dir: Path):
    path = shard_path(data_dir / "conversations", A)
    path.write_bytes(path.read_bytes()[:50])
    code, out = check(data_dir)
    assert code == 1 and f"{path.name} does not parse" in out
    assert "hold events that are not in the store" in out
    code, out = check(data_dir, repair=True)
    assert code == 0, out
    assert all_messages(data_dir) == EVERYTHING
    assert path.with_name(path.name + ".damaged-1").exists()  # kept, never deleted
    assert check(data_dir)[0] == 0


def test_a_changed_byte_in_the_spool_is_found_and_the_intact_records_kept(data_dir: Path):
    path = data_dir / "webhooks.spool"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))
    code, out = check(data_dir)
    assert code == 1 and "webhooks.spool has a damaged record at offset" in out
    code, out = check(data_dir, repair=True)
    assert code == 0, out
    assert "Clean: 2 conversations, 5 messages, 4 webhook bodies" in out
    assert (data_dir / "webhooks.spool.damaged-1").read_bytes() == bytes(data)
    assert all_messages(data_dir) == EVERYTHING


def test_a_removed_index_is_found_and_rebuilt(data_dir: Path):
    (data_dir / "index.json").unlink()
    code, out = check(data_dir)
    assert code == 1 and "index.json is missing" in out
    assert check(data_dir, repair=True)[0] == 0
    assert all_messages(data_dir) == EVERYTHING


def test_a_stale_index_is_found_and_rebuilt(data_dir: Path):
    old = (data_dir / "index.json").read_bytes()
    carol = type(ALICE)(CAROL_ID, "Carol")
    store = opened(data_dir)
    store.apply(inbound(carol, "c1", 20))
    store.apply(inbound(ALICE, "a4", 21))
    store.close()
    (data_dir / "index.json").write_bytes(old)
    code, out = check(data_dir)
    assert code == 1
    assert "not in index.json" in out and "differ from their files" in out and "older than the journal" in out
    assert check(data_dir, repair=True)[0] == 0
    assert all_messages(data_dir)[A] == ["a1", "a2", "a3", "a4"]


def test_acknowledged_bodies_never_applied_are_found_and_applied(data_dir: Path):
    late = [inbound(BOB, "b3", 30), inbound(ALICE, "a4", 31)]
    seqs = asyncio.run(spool_bodies(data_dir, late, done=False))
    code, out = check(data_dir)
    assert code == 1 and f"2 webhook bodies in the spool hold events that are not in the store (0 of them marked done): {seqs[0]}, {seqs[1]}" in out
    code, out = check(data_dir, repair=True)
    assert code == 0, out
    assert all_messages(data_dir) == {A: ["a1", "a2", "a3", "a4"], B: ["b1", "b2", "b3"]}


def test_a_running_desk_is_never_checked_under_it(data_dir: Path):
    with TinyStore(data_dir):
        code, out = check(data_dir, repair=True)
    assert code == 1
    assert f"Another wadesk is already using the data directory {data_dir}." in out


def test_not_a_data_directory(tmp_path: Path):
    code, out = check(tmp_path / "nothing")
    assert code == 1 and "is not a wadesk data directory" in out


def test_a_file_that_cannot_be_read_is_a_sentence_not_a_traceback(data_dir: Path, monkeypatch):
    import backends.cloud.spool as spool_module

    def unreadable(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(spool_module, "read", unreadable)
    code, out = check(data_dir)
    assert code == 1
    assert out.strip().endswith(f"The check stopped: Permission denied ({data_dir / 'webhooks.spool'}).")
