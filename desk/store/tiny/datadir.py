"""One process owns a data directory: an OS lock on `<data_dir>/wadesk.lock`.

The lock is flock (LockFileEx on Windows) through `filelock`; the kernel drops it when the owner
dies, so a desk killed with SIGKILL never blocks the next start. A second owner gets StoreLocked with
one sentence, not a corrupt file.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from desk.store import StoreLocked

LOCK_NAME = "wadesk.lock"


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._lock = FileLock(str(data_dir / LOCK_NAME), timeout=0)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def acquire(self) -> None:
        """Take the lock now or raise StoreLocked (never waits)."""
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            raise StoreLocked(
                f"Another wadesk is already using the data directory {self.data_dir}."
            ) from None

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)
