"""A TinyDB storage that never leaves a torn file: orjson, temp file, fsync, rename, fsync the dir.

TinyDB's own JSONStorage overwrites in place: a kill between its write and its truncate leaves a
file TinyDB cannot open (../shared/reference/perf-baseline.md, conclusion 4). This one writes the
new content next to the file, fsyncs it, renames it over the old one and fsyncs the directory, so
after a kill or a power cut there is either the old file or the new one (and maybe a stray
`*.tmp`, ignored and overwritten by the next write).

`buffered=True` keeps the data in memory and writes only on `commit()`: one TinyDB operation that
touches several tables (or several operations) then costs one durable write, not one each.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from tinydb.storages import Storage

_WINDOWS = sys.platform == "win32"
_O_BINARY = getattr(os, "O_BINARY", 0)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in `directory` survive a power cut (a no-op on Windows)."""
    if _WINDOWS:
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file_atomic(path: Path, content: bytes, *, sync: bool = True, sync_dir: bool = True) -> None:
    """Replace `path` with `content`: old file or new file after any crash, never a mix. With
    `sync=False` (a file whose loss costs only some repeated work) nothing waits on the disk: a
    killed process still leaves old or new, a power cut may leave the old one. With
    `sync_dir=False` the new content is durable but the rename may not be: after a power cut the
    old file may be back, whole; the caller fsyncs the directory later (the store does, before
    emptying the journal that can redo the change)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _O_BINARY, 0o644)
    try:
        view = memoryview(content)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if sync:
            os.fsync(fd)
    finally:
        os.close(fd)
    _replace(tmp, path)
    if sync and sync_dir:
        fsync_dir(path.parent)


def _replace(src: Path, dst: Path) -> None:
    # On Windows a reader holding the target open makes the rename fail for a moment.
    for attempt in range(20 if _WINDOWS else 1):
        try:
            os.replace(src, dst)
            return
        except PermissionError:
            if attempt == 19 or not _WINDOWS:
                raise
            time.sleep(0.005)


def read_json(path: Path) -> Any:
    """The parsed file, or None when it does not exist or is empty."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return None
    if not content.strip():
        return None
    return orjson.loads(content)


class AtomicOrjsonStorage(Storage):
    """TinyDB storage: orjson, atomic replace. `TinyDB(path, storage=AtomicOrjsonStorage)`."""

    def __init__(self, path: str | os.PathLike[str], *, buffered: bool = False) -> None:
        self.path = Path(path)
        self.buffered = buffered
        self._data: dict[str, dict[str, Any]] | None = None
        self._loaded = False
        self.dirty = False

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self.buffered:
            if not self._loaded:
                self._data = read_json(self.path)
                self._loaded = True
            return self._data
        data: dict[str, dict[str, Any]] | None = read_json(self.path)
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        if self.buffered:
            self._data = data
            self._loaded = True
            self.dirty = True
            return
        write_file_atomic(self.path, orjson.dumps(data))

    @property
    def has_data(self) -> bool:
        """Buffered: whether there is content (read from the file, or written since)."""
        return self._data is not None

    def commit(self, *, sync_dir: bool = True) -> bool:
        """Write what the buffered operations changed, durably (`sync_dir`: write_file_atomic's).
        True when there was something."""
        if not self.dirty or self._data is None:
            return False
        write_file_atomic(self.path, orjson.dumps(self._data), sync_dir=sync_dir)
        self.dirty = False
        return True

    def discard(self) -> None:
        """Forget the buffer: the next read comes from the file again."""
        self._data = None
        self._loaded = False
        self.dirty = False
