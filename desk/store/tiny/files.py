"""Where a conversation's shard lives, and which of its two copies to read.

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
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from desk.atomic_storage import read_json

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
