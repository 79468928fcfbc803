"""A real PostgreSQL server for the tests that need one (team mode), started once per test run.

pytest-postgresql's executor runs the machine's `pg_ctl` (and through it `initdb`) in a temporary
directory. `initdb` refuses to run as root, and CI runs as root: then the server runs as the
unprivileged `postgres` user, through a two-line `pg_ctl` wrapper that calls `runuser`, in a
directory that user owns. Where no PostgreSQL binaries exist at all the tests skip with one line.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USER = "postgres"
"""Who runs the server when the tests run as root (the package's own user on Debian)."""


def find_pg_ctl() -> str | None:
    """The newest PostgreSQL's pg_ctl: on PATH, or where Debian keeps its versions."""
    found = shutil.which("pg_ctl")
    if found:
        return found
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(root: Path, pg_ctl: str) -> str:
    """A pg_ctl that runs the real one as SERVER_USER, and `root` made theirs."""
    user = pwd.getpwnam(SERVER_USER)
    os.chown(root, user.pw_uid, user.pw_gid)
    wrapper = root / "pg_ctl"
    wrapper.write_text(f'#!/bin/sh\nexec runuser -u {SERVER_USER} -- "{pg_ctl}" "$@"\n')
    wrapper.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
    return str(wrapper)


def _ready(conninfo: str, limit: float = 60.0) -> None:
    """The executor counts the server started once its port accepts; it may still be starting up
    then ("the database system is starting up"): wait (bounded) until it takes a session."""
    import psycopg

    deadline = time.monotonic() + limit
    while True:
        try:
            psycopg.connect(conninfo, connect_timeout=5).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def running_server(max_connections: int = 300) -> Iterator[str]:
    """Start a private server for the block; yields its conninfo (superuser, trust on loopback).
    `max_connections`: the bench raises it (each event stream holds a connection of its hub)."""
    from pytest_postgresql.executors.proc import PostgreSQLExecutor

    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        raise FileNotFoundError("no PostgreSQL binaries (pg_ctl) on this machine")
    root = Path(tempfile.mkdtemp(prefix="wadesk-pg-"))
    try:
        executable, user = pg_ctl, pwd.getpwuid(os.getuid()).pw_name
        if os.getuid() == 0:
            executable, user = _as_server_user(root, pg_ctl), SERVER_USER
        port = _free_port()
        server = PostgreSQLExecutor(
            executable=executable, host="127.0.0.1", port=port, datadir=str(root / "data"),
            unixsocketdir=str(root), logfile=str(root / "server.log"), startparams="-w",
            dbname="wadesk", user=user, postgres_options=f"-c fsync=on -c max_connections={max_connections}",
        )
        with server:
            conninfo = f"host=127.0.0.1 port={port} user={user} dbname=postgres"
            _ready(conninfo)
            yield conninfo
    finally:
        shutil.rmtree(root, ignore_errors=True)


class Server:
    """The test run's server: `database()` makes a fresh, empty database for one test."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._made = 0

    def database(self) -> str:
        import psycopg

        self._made += 1
        name = f"t{os.getpid()}_{self._made}"
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.conninfo.replace("dbname=postgres", f"dbname={name}")
