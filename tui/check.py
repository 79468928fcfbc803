"""`wadesk check [--repair]`: do the journal, the spool and the shards tell the same story?

Verifies a data directory without changing it: every shard parses, the index and the shards agree
(allowing for the journal records the index does not cover yet), every spool record is intact, and
every event of every intact webhook body is in the store (nothing acknowledged left unapplied).
Prints what it found in sentences; exit code 0 when clean, 1 when damage was found.

`repair=True` then rebuilds what can be rebuilt, through the store itself: a damaged shard is moved
aside (never deleted) and rebuilt from the journal, the spool is rewritten with its intact records
(the damaged file kept aside), every intact webhook body is applied again (idempotent: what is
there already changes nothing), and the index is rebuilt from the shards. Then it checks again.

It takes the data directory's lock, so it never runs beside a desk or `wadesk serve`.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from backends.cloud import spool
from backends.cloud.webhook import parse_body
from desk.atomic_storage import read_json, write_file_atomic
from desk.clock import SystemClock
from desk.codec import conversation_to_row
from desk.faults import move_aside
from desk.models import MessageReceived, StatusChanged, conversation_id
from desk.store import StoreLocked, StoreUnavailable
from desk.store.rules import whatsapp_moves
from desk.store.tiny import INDEX_VERSION, TinyStore
from desk.store.tiny.datadir import DataDirLock
from desk.store.tiny.files import id_from_path, read_slot, shard_files, slot_path
from desk.store.tiny.journal import Journal
from desk.store.tiny.shard import Shard
from desk.summary import summarize
from desk.text import flatten

log = logging.getLogger(__name__)


@dataclass
class Findings:
    """What one look at a data directory found."""

    damage: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    damaged_shards: dict[Path, str | None] = field(default_factory=dict)
    """Shard files that do not parse -> the conversation id when the name or the index says it."""
    spool_damaged: bool = False
    unapplied: int = 0
    conversations: int = 0
    messages: int = 0
    bodies: int = 0


@dataclass
class _Conversation:
    row: list[Any] | None = None
    ids: set[str] = field(default_factory=set)
    statuses: dict[str, Any] = field(default_factory=dict)
    """wamid (or id) of our messages -> their status."""
    pending: set[tuple[str, str]] = field(default_factory=set)


def main(data_dir: Path, repair: bool = False, out: TextIO | None = None) -> int:
    """Check (and with `repair`, repair) the data directory; 0 when it is (now) clean, else 1.
    `out`: where the report goes (standard output when None, looked up at the call)."""
    out = out or sys.stdout
    data_dir = Path(data_dir)
    if not (data_dir / "conversations").is_dir() and not (data_dir / "index.json").exists():
        print(f"{data_dir} is not a wadesk data directory (no conversations/, no index.json).", file=out)
        return 1
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except StoreLocked as exc:
        print(f"{exc} Stop it, then check again.", file=out)
        return 1
    try:
        found = inspect(data_dir)
        _print(found, out)
        if not found.damage or not repair:
            return 1 if found.damage else 0
        _repair(data_dir, found, lock, out)
        lock.acquire()  # the store released it on close
        again = inspect(data_dir)
        print("After the repair:", file=out)
        _print(again, out)
        return 1 if again.damage else 0
    except StoreUnavailable as exc:
        print(f"The repair stopped: {exc}", file=out)
        return 1
    except OSError as exc:  # a sentence for the admin; the traceback goes to the log
        log.error("wadesk check stopped", exc_info=True)
        where = f" ({flatten(str(exc.filename))})" if exc.filename else ""
        print(f"The check stopped: {exc.strerror or exc}{where}.", file=out)
        return 1
    finally:
        lock.release()


def _print(found: Findings, out: TextIO) -> None:
    for sentence in found.damage + found.notes:
        print(sentence, file=out)
    if found.damage:
        print(f"{len(found.damage)} problem(s) found; `wadesk check --repair` rebuilds what can be rebuilt.", file=out)
    else:
        print(
            f"Clean: {found.conversations} conversations, {found.messages} messages, "
            f"{found.bodies} webhook bodies, and they agree.",
            file=out,
        )


def _few(items: Iterable[object], most: int = 5) -> str:
    shown = [flatten(str(i), 80) for i in items]
    return ", ".join(shown[:most]) + (f" and {len(shown) - most} more" if len(shown) > most else "")


# --- looking ------------------------------------------------------------------------------------------


def inspect(data_dir: Path) -> Findings:
    """Everything `main` reports, changing nothing."""
    found = Findings()
    root = data_dir / "conversations"
    seen: dict[str, _Conversation] = {}
    for path in sorted(shard_files(root)):
        _read_shard(path, found, seen)
    for aside in sorted(root.glob("*/*.json*.damaged-*")):
        found.notes.append(f"{aside.relative_to(data_dir)} is a damaged file kept aside; nothing reads it.")
    journal = Journal(data_dir / "journal.jsonl")
    records, _ = journal.read()
    if journal.garbled:
        found.damage.append(f"{journal.path.name} has unreadable records before its last line.")
    _check_index(data_dir, found, seen, journal, records)
    _check_spool(data_dir, found, seen, records)
    found.conversations = sum(1 for c in seen.values() if c.row is not None)
    found.messages = sum(len(c.statuses) for c in seen.values())
    return found


def _read_shard(path: Path, found: Findings, seen: dict[str, _Conversation]) -> None:
    """One conversation, from the newest of its shard's copies that parses (shard.read_slot)."""
    try:
        cid = id_from_path(path)
        if cid is None:
            _, data, _ = read_slot(path, None, 0)
            doc = (data or {}).get("conversation", {}).get("1")
            if not doc:
                raise ValueError("no conversation id")
            cid = str(doc["id"])
        shard = Shard(path, cid)
    except Exception as exc:  # noqa: BLE001 - any reason a file cannot be read is damage
        found.damage.append(f"{path.parent.name}/{path.name} does not parse ({flatten(str(exc), 80)}).")
        found.damaged_shards[path] = id_from_path(path)
        return
    other = slot_path(path, 1 - shard.slot)
    try:
        read_json(other)
    except Exception as exc:  # noqa: BLE001 - the copy not read: the store may still fall back on it
        found.damage.append(
            f"{path.parent.name}/{other.name} does not parse ({flatten(str(exc), 80)}); "
            f"its other copy, {path.parent.name}/{slot_path(path, shard.slot).name}, is read."
        )
        found.damaged_shards[path] = cid
    conv = seen.setdefault(shard.id, _Conversation())
    for message in shard.transcript:
        conv.ids.update(k for k in (message.id, message.wamid) if k)
        conv.statuses[message.wamid or message.id] = message.status
    conv.pending = {(p["wamid"], p["status"]) for _, p in shard.pending()}
    if shard.meta is not None:
        conv.row = conversation_to_row(summarize(shard.meta, shard.transcript))


def _check_index(data_dir: Path, found: Findings, seen: dict[str, _Conversation], journal: Journal,
                 records: list[dict[str, Any]]) -> None:
    path = data_dir / "index.json"
    try:
        data = read_json(path)
    except Exception as exc:  # noqa: BLE001
        found.damage.append(f"index.json does not parse ({flatten(str(exc), 80)}).")
        return
    if data is None:
        found.damage.append("index.json is missing.")
        return
    meta = data.get("meta", {}).get("1", {})
    if meta.get("version") != INDEX_VERSION:
        found.damage.append(f"index.json has version {meta.get('version')!r}, not {INDEX_VERSION}.")
        return
    seq = int(meta.get("seq", 0))
    if journal.base is not None and journal.base > seq:
        found.damage.append(f"index.json is older than the journal (it covers record {seq}, the journal starts after {journal.base}).")
    rows = {row[0]: row for doc in data.get("conversations", {}).values() for row in doc["rows"]}
    # What the journal holds beyond the index is replayed at the next open: not a disagreement.
    pending = {r.get("cid") for r in records if r["seq"] > seq}
    damaged = set(found.damaged_shards.values())
    listed = {cid for cid, c in seen.items() if c.row is not None}
    missing = sorted(listed - rows.keys() - pending)
    orphans = sorted(rows.keys() - listed - pending - damaged)
    stale = sorted(cid for cid in listed & rows.keys() - pending if rows[cid] != seen[cid].row)
    if missing:
        found.damage.append(f"{len(missing)} conversation(s) have a file but are not in index.json: {_few(missing)}.")
    if orphans:
        found.damage.append(f"{len(orphans)} conversation(s) in index.json have no file: {_few(orphans)}.")
    if stale:
        found.damage.append(f"{len(stale)} summary row(s) in index.json differ from their files: {_few(stale)}.")


def _check_spool(data_dir: Path, found: Findings, seen: dict[str, _Conversation], records: list[dict[str, Any]]) -> None:
    path = data_dir / "webhooks.spool"
    scan = spool.read(path)
    if path.exists() and scan.end < path.stat().st_size:
        found.notes.append(f"webhooks.spool ends with a torn record at offset {scan.end} (never acknowledged).")
    for offset, length in scan.damaged:
        found.damage.append(f"webhooks.spool has a damaged record at offset {offset} ({length} bytes).")
    found.spool_damaged = bool(scan.damaged)
    found.bodies = len(scan.records)
    done = spool.read_done(data_dir / "webhooks.done")
    journaled = {(r.get("cid"), r.get("message", {}).get("id")) for r in records if r.get("op") == "message"}
    missing: list[int] = []
    now = SystemClock().now()  # the parser takes a time far ahead as now, as the receiver did
    for seq, body in scan.records:
        if not all(_stored(event, seen, journaled) for event in parse_body(body, now).events):
            missing.append(seq)
    found.unapplied = len(missing)
    if missing:
        acked = [s for s in missing if s <= done]
        found.damage.append(
            f"{len(missing)} webhook bodies in the spool hold events that are not in the store "
            f"({len(acked)} of them marked done): {_few(missing)}."
        )


def _stored(event: object, seen: dict[str, _Conversation], journaled: set[tuple[Any, Any]]) -> bool:
    if isinstance(event, MessageReceived):
        cid = conversation_id(event.business_number_id, event.customer.id)
        conv = seen.get(cid)
        return (conv is not None and event.message.id in conv.ids) or (cid, event.message.id) in journaled
    if isinstance(event, StatusChanged):
        conv = seen.get(conversation_id(event.business_number_id, event.customer_id))
        if conv is None:
            return False
        if (event.wamid, event.status.value) in conv.pending:
            return True
        current = conv.statuses.get(event.wamid)
        return current is not None and not whatsapp_moves(current, event.status)
    return True


# --- repairing ----------------------------------------------------------------------------------------


def _repair(data_dir: Path, found: Findings, lock: DataDirLock, out: TextIO) -> None:
    for path, cid in found.damaged_shards.items():
        if cid is None:  # no way to tell whose it was: kept aside, its messages come from the spool
            aside = move_aside(path)
            print(f"Moved {path.name} aside as {aside.name}.", file=out)
    scan = spool.read(data_dir / "webhooks.spool")
    if found.spool_damaged:
        path = data_dir / "webhooks.spool"
        aside = move_aside(path)
        write_file_atomic(path, b"".join(spool.encode(seq, body) for seq, body in scan.records))
        print(f"Rewrote webhooks.spool with its {len(scan.records)} intact records; the damaged file is kept as {aside.name}.", file=out)
    store = TinyStore(data_dir, lock=lock)
    store.open()
    try:
        for cid in found.damaged_shards.values():
            if cid is not None:
                # Written whole over its copy not read; a copy that was read and does not parse is
                # moved aside and the conversation rebuilt from what is whole and the journal.
                store.rewrite(cid)
        applied = 0
        now = SystemClock().now()
        for _, body in scan.records:
            for event in parse_body(body, now).events:
                applied += store.apply(event) is not None
        if scan.records:
            write_file_atomic(data_dir / "webhooks.done", str(max(seq for seq, _ in scan.records)).encode())
        print(f"Applied the spool's {len(scan.records)} webhook bodies again: {applied} change(s).", file=out)
        store.rebuild_index()
        print(f"Rebuilt index.json from {len(store.conversations())} conversation files.", file=out)
    finally:
        store.close()
