"""One conversation's TinyDB file (a shard) and where it lives.

A shard is `conversations/<bucket>/<name>.json`, and beside it `<name>.json.b`: two slots, each a
whole copy, written in turn and in place (overwriting a file costs a fifteenth of creating one and
renaming it over the old: atomic_storage.overwrite). A write never touches the slot the shard was
last read from or written to (its current slot), so a write cut short by a crash leaves the other
slot whole. Each copy says up to which journal record it was written (`written.seq`); the store
names each conversation's current slot in its index and falls back on the other copy only when it
is recent enough for the journal to redo the rest (`read_slot`).

The bucket is the first two hex digits of the SHA-1 of the conversation id (256 directories, so
none holds more than a few thousand files even at a million conversations), the name the id
percent-encoded so that it is safe and collision-free on every filesystem, case-insensitive ones
included.

Tables: `conversation` (one doc, id 1: business number, customer, status, resolved_at, read_upto),
`messages` (one doc per message, TinyDB doc ids in arrival order), `pending_statuses` (status
events for a wamid we do not know yet), `written` (doc 1: the journal seq the copy was written
at). The shard is held in memory while the writer uses it (TinyDB over a buffered storage) and
written lazily: its changes wait in the store's journal until the next shard flush writes every
changed shard with one sync.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import replace
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote_to_bytes

import orjson
from tinydb import TinyDB
from tinydb.table import Document

from desk.atomic_storage import AtomicOrjsonStorage, fsync_dir, overwrite, read_json
from desk.codec import (
    check_message_doc,
    conversation_status,
    customer_from_doc,
    customer_to_doc,
    message_from_doc,
    message_to_doc,
    ts_from_doc,
    ts_to_doc,
)
from desk.models import Direction, Message
from desk.summary import ConversationMeta

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_.~")
_MAX_NAME = 180
_PLAIN = re.compile(r"[a-z0-9\-_~][a-z0-9\-_.~]*")
"""An id safe_name leaves as it is: only safe characters, not starting with a dot."""


def bucket(conversation_id: str) -> str:
    return hashlib.sha1(conversation_id.encode("utf-8")).hexdigest()[:2]


def safe_name(conversation_id: str) -> str:
    """A file name for the conversation id: lowercase letters, digits and `-_.~` as they are,
    everything else (upper case included, `%` too) as %XX per UTF-8 byte. Injective, and stays
    injective when a filesystem ignores case (only the hex digits after `%` are upper case)."""
    if _PLAIN.fullmatch(conversation_id) and len(conversation_id) <= _MAX_NAME:
        return conversation_id  # most ids (number~wa_id): nothing to encode, no loop to run
    out = []
    for i, ch in enumerate(conversation_id):
        if ch in _SAFE and not (i == 0 and ch == "."):
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    name = "".join(out)
    if len(name) > _MAX_NAME:
        digest = hashlib.sha256(conversation_id.encode("utf-8")).hexdigest()[:32]
        name = f"{name[:_MAX_NAME - 40]}-{digest}"
    return name


def shard_path(root: Path, conversation_id: str) -> Path:
    """`root` is the `conversations` directory. The shard's name, and its slot 0."""
    return root / bucket(conversation_id) / f"{safe_name(conversation_id)}.json"


def slot_path(path: Path, slot: int) -> Path:
    """Slot 0 is the shard's own name (the one listed and counted); slot 1 is beside it. Slot 0
    is always written first, so a conversation with a file has its slot 0."""
    return path if slot == 0 else path.with_name(path.name + ".b")


DAMAGE = (ValueError, KeyError, TypeError, AttributeError)
"""What a shard that does not parse (truncated or garbled JSON, a wrong shape) raises on load."""


def written_at(data: dict[str, Any]) -> int:
    """The journal seq a copy was written at (-1: written before slots existed)."""
    doc = (data.get("written") or {}).get("1") or {}
    return int(doc.get("seq", -1))


def read_slot(path: Path, slot: int | None, covered: int) -> tuple[int, dict[str, Any] | None, bool]:
    """Which copy of the shard to load: (its slot, its data or None for no file, whether the
    named slot did not parse and the other was taken). `slot` is the current one as the store's
    index names it; the other copy is taken in its place only if it was written at or after
    `covered` (the journal holds every record since: the caller re-applies them), else the damage
    is raised. `slot=None` (no index to ask): the newest copy that parses."""
    if slot is None:
        found: list[tuple[int, int, dict[str, Any]]] = []
        damage: BaseException | None = None
        for each in (0, 1):
            try:
                data = read_json(slot_path(path, each))
            except DAMAGE as exc:
                damage = damage or exc
                continue
            if isinstance(data, dict):
                found.append((written_at(data), each, data))
            elif data is not None:
                damage = damage or ValueError(f"{slot_path(path, each).name} is not a JSON object")
        if found:
            _, each, data = max(found, key=lambda f: (f[0], -f[1]))
            return each, data, False
        if damage is not None:
            raise damage
        return 1, None, False  # no file yet: the first write makes slot 0
    try:
        data = read_json(slot_path(path, slot))
    except DAMAGE:
        try:
            other = read_json(slot_path(path, 1 - slot))
        except DAMAGE:
            other = None
        if isinstance(other, dict) and written_at(other) >= covered:
            return 1 - slot, other, True
        raise
    if data is None:
        return read_slot(path, None, covered)  # named but missing: whatever copy there is
    return slot, data, False


_ESCAPED = re.compile(r"(%[0-9A-F]{2})+")


def id_from_path(path: Path) -> str | None:
    """The conversation id a shard's file name stands for (what safe_name made), or None when
    the name was shortened with a digest (then only the file's content says)."""
    if not path.name.endswith(".json"):
        return None
    name = path.name[: -len(".json")]
    try:
        cid = _ESCAPED.sub(lambda m: unquote_to_bytes(m.group()).decode("utf-8"), name)
    except UnicodeDecodeError:
        return None
    return cid if safe_name(cid) == name and bucket(cid) == path.parent.name else None


def shard_files(root: Path) -> list[Path]:
    """Every shard file under `root` (the `conversations` directory)."""
    return [root / bucket / name for bucket, names in _listing(root) for name in names]


def count_shard_files(root: Path) -> int:
    """How many shard files there are: names only, no stat, no paths built (7 ms at 10k files,
    about 70 ms at 100k, next to the seconds it takes to parse them)."""
    return sum(len(names) for _, names in _listing(root))


def _listing(root: Path) -> list[tuple[str, list[str]]]:
    try:
        buckets = os.listdir(root)
    except FileNotFoundError:
        return []
    found = []
    for bucket in buckets:
        try:
            names = os.listdir(os.path.join(root, bucket))
        except NotADirectoryError:
            continue
        found.append((bucket, [name for name in names if name.endswith(".json")]))
    return found


def meta_to_doc(meta: ConversationMeta) -> dict[str, Any]:
    return {
        "id": meta.id,
        "business_number_id": meta.business_number_id,
        "customer": customer_to_doc(meta.customer),
        "status": meta.status.value,
        "resolved_at": ts_to_doc(meta.resolved_at),
        "read_upto": ts_to_doc(meta.read_upto),
        "failure_seen": meta.failure_seen,
        "assignee": meta.assignee,
    }


def meta_from_doc(doc: dict[str, Any]) -> ConversationMeta:
    return ConversationMeta(
        id=doc["id"],
        business_number_id=doc["business_number_id"],
        customer=customer_from_doc(doc["customer"]),
        status=conversation_status(doc.get("status", "open")),
        resolved_at=ts_from_doc(doc.get("resolved_at")),
        read_upto=ts_from_doc(doc.get("read_upto")),
        failure_seen=doc.get("failure_seen"),
        assignee=doc.get("assignee"),
    )


def _replace_with(new: dict[str, Any]) -> Callable[[MutableMapping[str, Any]], None]:
    def transform(doc: MutableMapping[str, Any]) -> None:
        doc.clear()
        doc.update(new)

    return transform


def in_order(messages: Iterable[tuple[Message, int]]) -> tuple[Message, ...]:
    """(message, doc id) pairs as a transcript: oldest first (timestamp, then arrival)."""
    return tuple(m for m, _ in sorted(messages, key=lambda pair: (pair[0].timestamp, pair[1])))


class Shard:
    """A conversation's file, loaded. Only the writer thread touches one; readers get `transcript`."""

    def __init__(self, path: Path, conversation_id: str, slot: int | None = None, covered: int = 0) -> None:
        """Load the shard whose slot 0 is `path` (read_slot says which copy: `slot` and `covered`).
        Raises OSError (unreadable) or one of DAMAGE (no copy to trust)."""
        self.path = path
        self.id = conversation_id
        self.slot, data, self.fell_back = read_slot(path, slot, covered)
        """The current slot: the next write goes to the other."""
        self.db = TinyDB(path, storage=AtomicOrjsonStorage, buffered=True)
        # TinyDB types its storage as the base class; it is an instance of the class passed above.
        self.storage = cast(AtomicOrjsonStorage, self.db.storage)
        self.storage.preload(data)
        self._conversation = self.db.table("conversation", cache_size=0)
        self._pending = self.db.table("pending_statuses", cache_size=0)
        self.meta: ConversationMeta | None = None
        # The messages table is kept as the file holds it (doc id -> doc, each doc replaced, never
        # changed in place) and a Message is built from a doc only when asked for: most writes need
        # a lookup by id and the new message, not the 20 or 200 objects before it (building them
        # was half the writer's time). TinyDB's own table rebuilds the whole table on each insert.
        self._docs: dict[str, dict[str, Any]] = {}
        self._built: dict[int, Message] = {}
        self.by_id: dict[str, int] = {}
        self.by_wamid: dict[str, int] = {}
        self._next_id = 1
        self._transcript: tuple[Message, ...] | None = None
        self.appended: list[Message] = []
        """Messages inserted since the store last summarised the shard (`summarised`)..."""
        self.reshaped = False
        """...and whether anything else changed since (then the summary is computed afresh)."""
        self._load(data)
        self.created = False
        """Whether the last `stage` made a new file (its directory needs an fsync; the store
        counts new slot 0 files)."""

    def _load(self, data: dict[str, Any] | None) -> None:
        doc = self._conversation.get(doc_id=1)
        self.meta = meta_from_doc(doc) if doc is not None else None
        docs = (data or {}).get("messages") or {}
        if not isinstance(docs, dict):
            raise ValueError("the messages table is not an object")
        for key, raw in docs.items():
            check_message_doc(raw)
            self._index(int(key), raw)
        self._docs = docs
        self._next_id = max(map(int, docs), default=0) + 1

    def _index(self, doc_id: int, raw: dict[str, Any]) -> None:
        old = self._docs.get(str(doc_id))
        if old is not None and old.get("wamid") and self.by_wamid.get(old["wamid"]) == doc_id:
            del self.by_wamid[old["wamid"]]
        self.by_id[raw["id"]] = doc_id
        wamid = raw.get("wamid")
        if wamid:
            self.by_wamid[wamid] = doc_id
        self._transcript = None

    @property
    def exists(self) -> bool:
        return self.meta is not None

    def message(self, doc_id: int) -> Message:
        message = self._built.get(doc_id)
        if message is None:
            message = self._built[doc_id] = message_from_doc(self._docs[str(doc_id)], self.id)
        return message

    @property
    def transcript(self) -> tuple[Message, ...]:
        """Every message, oldest first (timestamp, then arrival)."""
        if self._transcript is None:
            self._transcript = in_order((self.message(int(key)), int(key)) for key in self._docs)
        return self._transcript

    def snapshot(self) -> Snapshot:
        """The messages as they are now, for a reader on another thread: it builds what it reads."""
        return Snapshot(self.id, tuple(self._docs.items()), self._transcript)

    def summarised(self) -> None:
        """The store's summary now reflects every change."""
        self.appended = []
        self.reshaped = False

    # --- lookups -----------------------------------------------------------------------------------

    def find(self, key: str) -> int | None:
        """A message's doc id by its id or its wamid."""
        doc_id = self.by_id.get(key)
        if doc_id is None:
            doc_id = self.by_wamid.get(key)
        return doc_id

    def ours_by_wamid(self, wamid: str) -> int | None:
        """Our (outbound) message whose wamid, or id, is `wamid`."""
        for doc_id in (self.by_wamid.get(wamid), self.by_id.get(wamid)):
            if doc_id is not None and self._docs[str(doc_id)]["direction"] == Direction.OUTBOUND.value:
                return doc_id
        return None

    # --- changes (buffered until commit) -----------------------------------------------------------

    def set_meta(self, meta: ConversationMeta) -> None:
        doc = meta_to_doc(meta)
        if self._conversation.contains(doc_id=1):
            self._conversation.update(_replace_with(doc), doc_ids=[1])
        else:
            self._conversation.insert(Document(doc, doc_id=1))
        if self.meta is None or replace(self.meta, customer=meta.customer) != meta:
            self.reshaped = True  # (a customer's new name alone: the summary takes it as it is)
        self.meta = meta

    def insert(self, message: Message) -> int:
        doc_id = self._next_id
        self._next_id += 1
        self._put(doc_id, message)
        self.appended.append(message)
        return doc_id

    def replace(self, doc_id: int, message: Message) -> None:
        self._put(doc_id, message)
        self.reshaped = True

    def _put(self, doc_id: int, message: Message) -> None:
        raw = message_to_doc(message)
        self._index(doc_id, raw)
        self._docs[str(doc_id)] = raw  # a new doc: a reader's snapshot keeps the old one whole
        self._built[doc_id] = message
        data = self.storage.read()
        self.storage.write(data if data is not None else {})  # buffered: marks the shard changed

    def pending(self) -> list[tuple[int, dict[str, Any]]]:
        return [(doc.doc_id, dict(doc)) for doc in self._pending.all()]

    def add_pending(self, doc: dict[str, Any]) -> None:
        self._pending.insert(doc)
        self.reshaped = True

    def remove_pending(self, doc_ids: list[int]) -> None:
        if doc_ids:
            self._pending.remove(doc_ids=doc_ids)
            self.reshaped = True

    @property
    def dirty(self) -> bool:
        return self.storage.dirty

    def stage(self, seq: int) -> Path | None:
        """Write the shard over its other slot if it changed, marked as written at journal record
        `seq`, not yet durable: the store syncs it with the others of the same flush, then
        `promote`s it. Returns the file written, or None when there was nothing to write."""
        data = self.storage.read()
        if not self.storage.dirty or data is None:
            return None
        data["messages"] = self._docs
        data["written"] = {"1": {"seq": seq}}
        target = slot_path(self.path, 1 - self.slot)
        self.created = overwrite(target, orjson.dumps(data))
        self.storage.dirty = False
        return target

    def promote(self) -> None:
        """The staged copy is durable: it is the current slot now."""
        self.slot = 1 - self.slot
        self.fell_back = False

    def commit(self, seq: int) -> Path | None:
        """Write the shard now, durably, if it changed (a rebuilt one). The caller makes the
        directory. Returns the file written, or None."""
        target = self.stage(seq)
        if target is None:
            return None
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if self.created:
            fsync_dir(target.parent)
        self.promote()
        return target


class Snapshot:
    """A shard's messages at one moment, for readers: the docs are never changed in place (a
    change replaces the doc), so this holds them whole while the writer goes on; the Messages are
    built on the first read."""

    __slots__ = ("_docs", "_id", "_transcript")

    def __init__(self, conversation_id: str, docs: tuple[tuple[str, dict[str, Any]], ...],
                 transcript: tuple[Message, ...] | None) -> None:
        self._id = conversation_id
        self._docs = docs
        self._transcript = transcript

    @property
    def transcript(self) -> tuple[Message, ...]:
        if self._transcript is None:
            self._transcript = in_order((message_from_doc(raw, self._id), int(key)) for key, raw in self._docs)
        return self._transcript


_DOC_KEY = re.compile(r'\s*"(\d+)"\s*:\s*')


def salvage(path: Path, conversation_id: str) -> tuple[ConversationMeta | None, list[Message]]:
    """What a shard file that no longer parses still holds whole: its conversation and every
    message before the damage, in order. The file is one JSON object, written by orjson with its
    tables in order (conversation, messages, pending statuses), so a truncated or garbled file
    keeps everything up to the damage; each document is read on its own, and one that does not
    read as what it should be is left out."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except OSError:
        return None, []
    meta = None
    for doc in _table(text, "conversation")[:1]:
        try:
            meta = meta_from_doc(doc)
        except (KeyError, ValueError, TypeError, AttributeError):
            meta = None
    if meta is not None and meta.id != conversation_id:
        meta = None
    messages = []
    for doc in _table(text, "messages"):
        try:
            messages.append(message_from_doc(doc, conversation_id))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    return meta, messages


def _table(text: str, name: str) -> list[dict[str, Any]]:
    start = text.find(f'"{name}":{{')
    if start < 0:
        return []
    decoder, at, docs = json.JSONDecoder(), start + len(name) + 4, []
    while (key := _DOC_KEY.match(text, at)) is not None:
        try:
            doc, at = decoder.raw_decode(text, key.end())
        except ValueError:
            break  # the damage: nothing after it can be trusted to be whole
        if isinstance(doc, dict):
            docs.append(doc)
        if not text.startswith(",", at):
            break
        at += 1
    return docs

