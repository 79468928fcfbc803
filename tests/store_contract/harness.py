"""How the contract suite drives a store: one harness per implementation, listed in conftest.py.

A harness opens a fresh store on data of its own, opens the same data again after a clean close,
and kills the store's owner without a close: the writes are made by an owner process that is sent
SIGKILL once every one of them is acknowledged, and the data it leaves is opened again here. That
is what a crash of the desk does (the kernel drops the lock and the open files; what the store
wrote is on disk); nothing is left to a close, a flush or a destructor.
"""

from __future__ import annotations

import importlib
import os
import pickle
import select
import signal
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pytest

from desk.clock import FrozenClock
from desk.store.contract import Store
from desk.store.tiny import TinyStore
from tests.store_contract.knockouts import knock_out_from_env

REPO = Path(__file__).resolve().parents[2]
OWNER_TIMEOUT = 60.0
"""Seconds an owner process may take to acknowledge its writes: a guard against a hang, not a wait."""

Writes = Callable[[Store, FrozenClock], object]
"""Writes a dying owner makes: a module-level function (the owner process imports it by name)
given the store and the clock; what it returns (picklable) is the harness's `acknowledged`."""


class StoreHarness(Protocol):
    shared: bool
    """Whether several stores may be open on the same data at once (the PostgreSQL store: several
    hub replicas), or only one owner (the embedded store: a second open() is refused)."""
    clock: FrozenClock
    """The clock every store this harness opens reads; tests move it."""
    acknowledged: object
    """What the last killed owner's writes returned, once every write was acknowledged."""

    def open(self) -> Store:
        """The store on this harness's data, opened: fresh (empty) the first time."""
        ...

    def reopen(self) -> Store:
        """Close the store and open the same data again."""
        ...

    def kill_and_reopen(self, writes: Writes) -> Store:
        """Close the store, let an owner make `writes` and die without closing it (SIGKILL), and
        open what it left: the store must replay every write it acknowledged."""
        ...

    def another(self) -> Store:
        """A second store on the same data, not opened (a second owner, which open() refuses
        while the first is open; for a shared store, a second instance beside it)."""
        ...

    def close(self) -> None: ...


HarnessFactory = Callable[[pytest.FixtureRequest, Path, FrozenClock], StoreHarness]
"""How conftest.py makes a harness: the test's request (for the fixtures a store needs, such as
a database), a scratch directory of the test's own and the clock."""


# --- the TinyDB store -----------------------------------------------------------------------------


def tiny_store(address: str, clock: FrozenClock) -> Store:
    return TinyStore(Path(address), clock=clock)


class TinyHarness:
    shared = False

    @classmethod
    def make(cls, request: pytest.FixtureRequest, scratch: Path, clock: FrozenClock) -> TinyHarness:
        return cls(scratch, clock)

    def __init__(self, scratch: Path, clock: FrozenClock) -> None:
        self.scratch = scratch
        self.data_dir = scratch / "data"
        self.clock = clock
        self.acknowledged: object = None
        self._store: Store | None = None

    def open(self) -> Store:
        self.close()
        self._store = tiny_store(str(self.data_dir), self.clock)
        self._store.open()
        return self._store

    def reopen(self) -> Store:
        return self.open()

    def kill_and_reopen(self, writes: Writes) -> Store:
        self.close()
        self.acknowledged = kill_owner(tiny_store, str(self.data_dir), writes, self.clock, self.scratch)
        return self.open()

    def another(self) -> Store:
        return tiny_store(str(self.data_dir), self.clock)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


# --- the PostgreSQL store -------------------------------------------------------------------------

OWNER_GONE_TIMEOUT = 30.0
"""Seconds the server may take to see that a killed owner's sessions are gone: a guard against a
hang, not a wait (it sees the closed sockets at once)."""


def pg_store(address: str, clock: FrozenClock) -> Store:
    from desk.store.pg import PgStore

    return PgStore(address, clock=clock)


class PgHarness:
    """A fresh database of the test's own (the `pg_url` fixture), migrated. A killed owner is a
    process whose sessions the server drops; the store is opened again once the server has seen
    that (its owner lock is free), as a replica started after a crash would find it."""

    shared = True

    @classmethod
    def make(cls, request: pytest.FixtureRequest, scratch: Path, clock: FrozenClock) -> PgHarness:
        return cls(request.getfixturevalue("pg_migrated_url"), scratch, clock)

    def __init__(self, conninfo: str, scratch: Path, clock: FrozenClock) -> None:
        """`conninfo`: a fresh database, migrated."""
        self.conninfo = conninfo
        self.scratch = scratch
        self.clock = clock
        self.acknowledged: object = None
        self._stores: list[Store] = []

    def open(self) -> Store:
        self.close()
        store = self.another()
        store.open()
        return store

    def reopen(self) -> Store:
        return self.open()

    def kill_and_reopen(self, writes: Writes) -> Store:
        self.close()
        self.acknowledged = kill_owner(pg_store, self.conninfo, writes, self.clock, self.scratch)
        self._wait_for_owners_gone()
        return self.open()

    def _wait_for_owners_gone(self) -> None:
        import time

        import psycopg

        from desk.store.pg.owners import OWNER_SPACE

        deadline = time.monotonic() + OWNER_GONE_TIMEOUT
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            for (owner,) in conn.execute("SELECT id FROM store_owners").fetchall():
                while not conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (OWNER_SPACE, owner)).fetchone()[0]:
                    assert time.monotonic() < deadline, f"the killed owner {owner}'s session is still there"
                    time.sleep(0.01)
                conn.execute("SELECT pg_advisory_unlock(%s, %s)", (OWNER_SPACE, owner))

    def another(self) -> Store:
        store = pg_store(self.conninfo, self.clock)
        self._stores.append(store)
        return store

    def close(self) -> None:
        for store in self._stores:
            store.close()
        self._stores = []


# --- an owner that dies -----------------------------------------------------------------------------

OWNER = """
import sys
from tests.store_contract.harness import owner
owner(*sys.argv[1:])
"""


def _name(function: Callable[..., object]) -> str:
    if "<locals>" in function.__qualname__:
        raise TypeError(f"{function.__qualname__}: the owner process imports it, so it must be module-level")
    return f"{function.__module__}:{function.__qualname__}"


def _resolve(name: str) -> Callable[..., object]:
    module, _, qualname = name.partition(":")
    found: object = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    assert callable(found), name
    return found


def kill_owner(
    build: Callable[[str, FrozenClock], Store], address: str, writes: Writes, clock: FrozenClock, scratch: Path
) -> object:
    """Run `writes` in an owner process on the store `build(address, clock)` builds, and SIGKILL it
    once they are all acknowledged (have returned). Moves `clock` to the owner's time; returns what
    `writes` returned."""
    if sys.platform == "win32":
        pytest.skip("kills the owner with SIGKILL")
    result = scratch / "acknowledged.pickle"
    result.unlink(missing_ok=True)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    args = [_name(build), address, _name(writes), clock.now().isoformat(), str(result)]
    child = subprocess.Popen(
        [sys.executable, "-c", OWNER, *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )
    assert child.stdout is not None
    try:
        ready, _, _ = select.select([child.stdout], [], [], OWNER_TIMEOUT)
        line = child.stdout.readline() if ready else ""
    finally:
        child.send_signal(signal.SIGKILL)
        _, err = child.communicate(timeout=OWNER_TIMEOUT)
    assert line.strip() == "acknowledged", f"the owner did not acknowledge its writes:\n{err}"
    assert child.returncode == -signal.SIGKILL, child.returncode
    owner_now, acknowledged = pickle.loads(result.read_bytes())
    clock.set(owner_now)
    return acknowledged


def owner(build: str, address: str, writes: str, now: str, result: str) -> None:
    """The owner process: open the store, make the writes, say so, and wait to be killed."""
    knock_out_from_env()
    clock = FrozenClock(datetime.fromisoformat(now))
    store = _resolve(build)(address, clock)
    assert isinstance(store, Store)
    store.open()
    acknowledged = _resolve(writes)(store, clock)
    Path(result).write_bytes(pickle.dumps((clock.now(), acknowledged)))
    print("acknowledged", flush=True)
    sys.stdin.read()  # held open, never closed: the parent kills this process
