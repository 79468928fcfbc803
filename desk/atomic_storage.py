"""A TinyDB storage that never leaves a torn file: orjson, temp file, fsync, rename, fsync the dir.

TinyDB's own JSONStorage overwrites in place: a kill between its write and its truncate leaves a
file TinyDB cannot open (../shared/reference/perf-baseline.md, conclusion 4). This one writes the
new content next to the file, fsyncs it, renames it over the old one and fsyncs the directory, so
after a kill or a power cut there is either the old file or the new one (and maybe a stray
`*.tmp`, ignored and overwritten by the next write).

`buffered=True` keeps the data in memory and writes only on `commit()`: one TinyDB operation that
touches several tables (or several operations) then costs one durable write, not one each; a
caller that writes the data elsewhere itself (a shard's slots) only takes it with `preload()` and
reads it back with `read()`. `overwrite` and `sync_all` are for a writer of many files at once
that keeps two copies of each (desk/store/tiny/files.py): each written in place, all made
durable with one sync.
"""

from __future__ import annotations

import ctypes
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

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


def write_file_atomic(path: Path, content: bytes, *, sync: bool = True) -> None:
    """Replace `path` with `content`: old file or new file after any crash, never a mix. With
    `sync=False` (a file whose loss costs only some repeated work) nothing waits on the disk: a
    killed process still leaves old or new, a power cut may leave the old one."""
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
    if sync:
        fsync_dir(path.parent)


def overwrite(path: Path, content: bytes) -> bool:
    """Write `content` over the file in place, not yet durable (`sync_all` makes it so); True when
    the file had to be created (its directory then needs an fsync). Shorter content is padded with
    spaces to the old length, which JSON ignores, unless that would more than double the file.
    Not atomic: only for a file that has a second copy to fall back on (a shard's two slots).
    Measured here while the spool syncs beside it: 0.05 ms a 20 KB file, against 0.7-0.8 ms to
    create a temp file and rename it over the old one."""
    try:
        fd = os.open(path, os.O_WRONLY | _O_BINARY)
        created = False
    except FileNotFoundError:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | _O_BINARY, 0o644)
        created = True
    try:
        size = os.fstat(fd).st_size
        if size > 2 * len(content) + 4096:
            os.ftruncate(fd, len(content))
        elif size > len(content):
            content += b" " * (size - len(content))
        view = memoryview(content)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
    return created


def sync_all(paths: list[Path]) -> None:
    """Make what was written to every path durable: one syncfs(2) of their filesystem where the
    OS has it (Linux), else an fsync of each file."""
    if not paths:
        return
    if _syncfs is not None:
        fd = os.open(paths[0].parent, os.O_RDONLY)
        try:
            if _syncfs(fd) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), str(paths[0].parent))
        finally:
            os.close(fd)
        return
    for path in paths:
        fd = os.open(path, os.O_RDONLY | _O_BINARY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _find_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return cast("Callable[[int], int]", libc.syncfs)
    except (OSError, AttributeError):
        return None


_syncfs = _find_syncfs()


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

    def commit(self) -> bool:
        """Write what the buffered operations changed, durably. True when there was something."""
        if not self.dirty or self._data is None:
            return False
        write_file_atomic(self.path, orjson.dumps(self._data))
        self.dirty = False
        return True

    def preload(self, data: dict[str, dict[str, Any]] | None) -> None:
        """Buffered: take `data` as what the file holds (the caller read it, from wherever)."""
        self._data = data
        self._loaded = True
        self.dirty = False

    def discard(self) -> None:
        """Forget the buffer: the next read comes from the file again."""
        self._data = None
        self._loaded = False
        self.dirty = False
