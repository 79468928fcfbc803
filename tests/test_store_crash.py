"""The store across processes: the data-directory lock, kill -9 mid-stream, a torn journal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest
from tinydb import TinyDB

from desk.atomic_storage import AtomicOrjsonStorage
from desk.codec import customer_to_doc, message_to_doc
from desk.models import Customer, Direction, Message, MessageReceived, MessageStatus, conversation_id
from desk.store import StoreLocked
from desk.store.tiny import INDEX_VERSION, TinyStore
from desk.store.tiny.journal import Journal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

BN = "106540352242922"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
REPO = Path(__file__).resolve().parent.parent


def inbound(i: int, customers: int = 37) -> MessageReceived:
    customer = Customer(f"1555{i % customers:07d}", f"Customer {i % customers}")
    cid = conversation_id(BN, customer.id)
    message = Message(f"wamid.{i}", cid, Direction.INBOUND, "text", T0 + timedelta(seconds=i),
                      MessageStatus.RECEIVED, f"message {i}\nwith two lines")
    return MessageReceived(BN, customer, message)


def spawn(code: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )


OPEN_AND_REPORT = """
import sys
from pathlib import Path
from desk.store import StoreLocked
from desk.store.tiny import INDEX_VERSION, TinyStore
try:
    TinyStore(Path(sys.argv[1])).open()
except StoreLocked as exc:
    print(exc, file=sys.stderr)
    sys.exit(3)
print("opened")
"""

HOLD = """
import sys
from pathlib import Path
from desk.store.tiny import INDEX_VERSION, TinyStore
store = TinyStore(Path(sys.argv[1]))
store.open()
print("ready", flush=True)
sys.stdin.read()  # hold the store until killed
"""

WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_store_crash import inbound
from desk.models import MessageStatus, StatusChanged
from desk.store.tiny import INDEX_VERSION, TinyStore
store = TinyStore(Path(sys.argv[1]))
store.INDEX_FLUSH_RECORDS = int(sys.argv[2])
store.open()
print("ready", flush=True)
for i in range(1_000_000):
    event = inbound(i)
    store.apply(event)
    print(event.message.id, flush=True)   # acknowledged: apply() has returned
"""


def test_a_second_process_is_refused(tmp_path: Path):
    data_dir = tmp_path / "data"
    with TinyStore(data_dir):
        child = spawn(OPEN_AND_REPORT, str(data_dir))
        out, err = child.communicate(timeout=60)
    assert child.returncode == 3, (out, err)
    assert err.strip() == f"Another wadesk is already using the data directory {data_dir}."
    assert "opened" not in out


def test_a_second_store_in_the_same_process_is_refused(tmp_path: Path):
    with TinyStore(tmp_path):
        with pytest.raises(StoreLocked, match="Another wadesk is already using the data directory"):
            TinyStore(tmp_path).open()


def test_a_killed_owner_does_not_block_the_next_start(tmp_path: Path):
    data_dir = tmp_path / "data"
    child = spawn(HOLD, str(data_dir))
    try:
        assert child.stdout.readline().strip() == "ready"
        refused = spawn(OPEN_AND_REPORT, str(data_dir))
        refused.communicate(timeout=60)
        assert refused.returncode == 3
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    with TinyStore(data_dir) as store:
        assert store.is_empty()
    after = spawn(OPEN_AND_REPORT, str(data_dir))
    out, err = after.communicate(timeout=60)
    assert after.returncode == 0 and out.strip() == "opened", err


def kill_after(child: subprocess.Popen, acks: int) -> list[str]:
    """Read the writer's acknowledged message ids until there are `acks`, then SIGKILL it."""
    acknowledged: list[str] = []
    try:
        assert child.stdout.readline().strip() == "ready"
        while len(acknowledged) < acks:
            line = child.stdout.readline()
            assert line, child.stderr.read()
            acknowledged.append(line.strip())
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=60)
    return acknowledged


@pytest.mark.parametrize(
    ("acks", "flush_every"),
    [(5, 5000), (50, 5000), (200, 5000), (50, 16), (200, 7)],
)
def test_kill_9_keeps_every_acknowledged_message(tmp_path: Path, acks: int, flush_every: int):
    data_dir = tmp_path / "data"
    child = spawn(WRITER, str(data_dir), str(flush_every), str(Path(__file__).parent))
    acknowledged = kill_after(child, acks)
    assert child.returncode == -signal.SIGKILL

    # Every file left behind is whole: plain JSON, and TinyDB opens every shard.
    index = json.loads((data_dir / "index.json").read_bytes())
    assert index["meta"]["1"]["version"] == INDEX_VERSION
    # (Shards are written lazily: before the kill, some or none may have been.)
    for path in sorted((data_dir / "conversations").glob("*/*.json")):
        db = TinyDB(path, storage=AtomicOrjsonStorage)
        assert db.table("conversation").get(doc_id=1) is not None
        db.close()

    with TinyStore(data_dir) as store:  # the dead owner's lock does not block
        stored = {m.id for c in store.conversations() for m in store.messages(c.id)}
        assert set(acknowledged) <= stored
        for c in store.conversations():
            messages = store.messages(c.id)
            assert c.message_count == len(messages) == len({m.id for m in messages})
            assert c.unread == len(messages)
        written = len(stored)
        # Nothing is stored twice when the backend delivers the stream again.
        for i in range(written + 5):
            store.apply(inbound(i))
        assert sum(c.message_count for c in store.conversations()) == written + 5
    assert Journal(data_dir / "journal.jsonl").read()[0] == []


def test_a_torn_last_journal_line_is_ignored_and_the_rest_replayed(tmp_path: Path):
    data_dir = tmp_path / "data"
    with TinyStore(data_dir) as store:
        store.apply(inbound(0))
    seq = orjson.loads((data_dir / "index.json").read_bytes())["meta"]["1"]["seq"]

    def record(i: int, seq: int) -> bytes:
        event = inbound(i)
        return orjson.dumps({
            "op": "message",
            "cid": event.message.conversation_id,
            "bn": BN,
            "customer": customer_to_doc(event.customer),
            "message": message_to_doc(event.message),
            "seq": seq,
        })

    # Two records acknowledged (fsync'd) but never written to their shards, then one cut short by
    # the kill: as the journal looks after a crash between the journal append and the shard write.
    torn = record(3, seq + 3)
    (data_dir / "journal.jsonl").write_bytes(
        record(1, seq + 1) + b"\n" + record(2, seq + 2) + b"\n" + torn[: len(torn) // 2]
    )
    with TinyStore(data_dir) as store:
        ids = {m.id for c in store.conversations() for m in store.messages(c.id)}
        assert ids == {"wamid.0", "wamid.1", "wamid.2"}
        assert Journal(data_dir / "journal.jsonl").read()[0] == []
        # New records continue the sequence and do not glue onto the torn line.
        store.apply(inbound(4))
        assert [r["seq"] for r in Journal(data_dir / "journal.jsonl").read()[0]] == [seq + 3]
    with TinyStore(data_dir) as store:
        ids = {m.id for c in store.conversations() for m in store.messages(c.id)}
        assert ids == {"wamid.0", "wamid.1", "wamid.2", "wamid.4"}


def test_a_journal_record_already_in_the_shard_is_not_applied_twice(tmp_path: Path):
    data_dir = tmp_path / "data"
    with TinyStore(data_dir) as store:
        store.apply(inbound(0))
        cid = inbound(0).message.conversation_id
    # Replay the same record again as if the index had not covered it.
    index_path = data_dir / "index.json"
    index = orjson.loads(index_path.read_bytes())
    index["meta"]["1"]["seq"] = 0
    index_path.write_bytes(orjson.dumps(index))
    event = inbound(0)
    line = orjson.dumps({"op": "message", "cid": cid, "bn": BN, "customer": customer_to_doc(event.customer),
                         "message": message_to_doc(event.message), "seq": 1})
    (data_dir / "journal.jsonl").write_bytes(line + b"\n")
    with TinyStore(data_dir) as store:
        assert [m.id for m in store.messages(cid)] == ["wamid.0"]
        assert store.conversation(cid).message_count == 1


HELD_WRITER = """
import errno, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from test_store_crash import inbound
import desk.store.tiny.shard as shard_module
from desk.store.tiny.files import shard_path, slot_path
from desk.store.tiny import TinyStore
store = TinyStore(Path(sys.argv[1]))
store.INDEX_FLUSH_RECORDS = int(sys.argv[2])
store.open()
full = shard_path(Path(sys.argv[1]) / "conversations", inbound(0).message.conversation_id)
real = shard_module.overwrite
def write(path, content):
    if Path(path) in (full, slot_path(full, 1)):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    return real(path, content)
shard_module.overwrite = write
print("ready", flush=True)
for i in range(1_000_000):
    event = inbound(i)
    store.apply(event)
    print(event.message.id, flush=True)   # acknowledged, though one conversation cannot be written
"""


@pytest.mark.parametrize("flush_every", [5000, 7])
def test_kill_9_while_one_conversation_cannot_be_written_keeps_its_held_messages(tmp_path: Path, flush_every: int):
    data_dir = tmp_path / "data"
    child = spawn(HELD_WRITER, str(data_dir), str(flush_every), str(Path(__file__).parent))
    acknowledged = kill_after(child, 150)
    held_cid = inbound(0).message.conversation_id
    with TinyStore(data_dir) as store:  # the disk has room again
        stored = {m.id for c in store.conversations() for m in store.messages(c.id)}
        assert set(acknowledged) <= stored
        held = [m.id for m in store.messages(held_cid)]
        assert {a for a in acknowledged if int(a.split(".")[1]) % 37 == 0} <= set(held)
        assert store.faults() == []
