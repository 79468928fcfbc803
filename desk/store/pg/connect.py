"""Reaching the database: the pool the store's writes and reads share, and what the agent and the
admin are told when it cannot be reached (a sentence naming the server, never the password: the
conninfo may hold one, and libpq's own messages are passed through with it taken out)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
import psycopg
from psycopg import conninfo as pq_conninfo
from psycopg.types.json import set_json_loads
from psycopg_pool import ConnectionPool, PoolTimeout

from desk.store.contract import StoreFault, StoreUnavailable
from desk.text import flatten

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 10
"""Seconds a connection attempt may take before the database counts as unreachable."""
POOL_TIMEOUT = 30.0
"""Seconds a write or a read waits for a connection of the pool (all busy, or the server gone)."""


def where(conninfo: str) -> str:
    """The server and database a conninfo names, for a sentence: no user, no password."""
    try:
        parts = pq_conninfo.conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "the team database (its address does not parse)"
    host = str(parts.get("host") or parts.get("hostaddr") or "localhost")
    port = str(parts.get("port") or "5432")
    dbname = str(parts.get("dbname") or "")
    return f"PostgreSQL at {host}:{port}" + (f" (database {dbname})" if dbname else "")


def _secret(conninfo: str) -> str | None:
    try:
        password = pq_conninfo.conninfo_to_dict(conninfo).get("password")
    except psycopg.ProgrammingError:
        return None
    return str(password) if password else None


def redacted(conninfo: str, text: str) -> str:
    """`text` (an error's message) with the conninfo's password taken out, on one line."""
    secret = _secret(conninfo)
    if secret:
        text = text.replace(secret, "***")
    return flatten(text, 300)


def unavailable(conninfo: str, exc: BaseException) -> StoreUnavailable:
    """The exception a write or a read raises when the database cannot take it now."""
    sentence = (
        f"The team database cannot be reached ({where(conninfo)}: {redacted(conninfo, str(exc))}); "
        "nothing was stored: try again when it is back."
    )
    log.error("%s", sentence)
    return StoreUnavailable(StoreFault("database", None, Path(where(conninfo)), sentence))


def columns(rows: Sequence[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows as one list a column: the parameters of an `unnest(%b::text[], ...)`, which writes
    many rows in one statement (one round trip, where a statement a row was one each)."""
    return [list(column) for column in zip(*rows, strict=True)]


def configure(conn: psycopg.Connection) -> None:
    """Documents are read with orjson (several times faster than the standard library's json on
    a conversation's document, which every write of the conversation reads)."""
    set_json_loads(orjson.loads, conn)


def open_pool(conninfo: str, *, max_size: int) -> ConnectionPool:
    """The store's pool, open, with one connection made (or StoreUnavailable, at once: a first
    connection tells libpq's reason, where the pool would retry until its timeout)."""
    try:
        psycopg.connect(conninfo, connect_timeout=CONNECT_TIMEOUT).close()
    except psycopg.Error as exc:
        raise unavailable(conninfo, exc) from None
    pool = ConnectionPool(
        conninfo, min_size=1, max_size=max_size, open=False, timeout=POOL_TIMEOUT,
        kwargs={"connect_timeout": CONNECT_TIMEOUT, "application_name": "wadesk-store", "autocommit": True},
        name="wadesk-store", configure=configure,
    )
    try:
        pool.open(wait=True, timeout=CONNECT_TIMEOUT + 5)
    except (PoolTimeout, psycopg.Error) as exc:
        pool.close()
        raise unavailable(conninfo, exc) from None
    return pool
