"""The search index's tables (search_index.py keeps them): the schema, a conversation's and a
message's rows as the write path and the rebuild put them, and the queries a search makes.

Message rows are numbered by timestamp (microseconds x 1024, plus ten bits of the id), so that
"newest first" is FTS5's own rowid order and a query stops at its limit.
"""

from __future__ import annotations

import sqlite3
import zlib
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

from desk import search
from desk.models import Customer, Message
from desk.store import rules
from desk.store.contract import SearchHit

EXPAND = 100
"""Words a query's word may start before it is looked up as a prefix (see `_match`)."""
CUSTOMER_CAP = 5000
"""Customers a query reads to order them by their latest message; more are not looked at."""
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def schema() -> str:
    tokenizer = f"unicode61 remove_diacritics 0 tokenchars '{search.marks()}'"
    return f"""
        CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE conversations(
            id INTEGER PRIMARY KEY, cid TEXT UNIQUE NOT NULL, name TEXT, phone TEXT, username TEXT);
        CREATE TABLE messages(id INTEGER PRIMARY KEY, conv INTEGER NOT NULL, mid TEXT NOT NULL,
            text TEXT NOT NULL, UNIQUE(conv, mid));
        CREATE TABLE message_terms(term TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE VIRTUAL TABLE message_words USING fts5(body, content='', prefix='2', tokenize="{tokenizer}");
        CREATE VIRTUAL TABLE customer_words USING fts5(body, content='', tokenize="{tokenizer}");
    """


def _row_id(message: Message) -> int:
    delta = message.timestamp - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros * 1024 + (zlib.crc32(message.id.encode()) & 1023)


def _timestamp(row_id: int) -> datetime:
    micros = row_id >> 10
    return datetime.fromtimestamp(micros // 1_000_000, timezone.utc).replace(microsecond=micros % 1_000_000)


def _prefix(term: str) -> str:
    """FTS5's words starting with `term` (only itself for one letter: desk.search.matches)."""
    return f'"{term}"' if len(term) == 1 else f'"{term}"*'  # a term holds only word characters


def rollback(db: sqlite3.Connection) -> None:
    """Undo a transaction that failed, if the connection can still do it."""
    try:
        if db.in_transaction:
            db.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # it failed already; told by the caller


def _customer(row: Sequence[Any]) -> Customer:
    return Customer("", row[0] or "", row[1], row[2])


def put_conversation(db: sqlite3.Connection, cid: str, customer: Customer | None, *, merge: bool = True) -> int:
    """The conversation's row (made when new), its customer's words updated: merged as the
    store merges them (`merge`), or only when none are known (a rebuild, behind the writer)."""
    row = db.execute("SELECT id, name, phone, username FROM conversations WHERE cid = ?", (cid,)).fetchone()
    if row is None:
        conv = db.execute("INSERT INTO conversations(cid) VALUES (?)", (cid,)).lastrowid
        assert conv is not None  # an INSERT's row
        known = None
    else:
        conv, known = row[0], (_customer(row[1:]) if row[1] is not None else None)
    if customer is None or (known is not None and not merge):
        return int(conv)
    new = rules.merge_customer(known, customer) if known is not None else customer
    if known is not None and (new.name, new.phone, new.username) == (known.name, known.phone, known.username):
        return int(conv)
    if known is not None:
        db.execute(
            "INSERT INTO customer_words(customer_words, rowid, body) VALUES ('delete', ?, ?)",
            (conv, search.customer_folded(known)),
        )
    db.execute(
        "UPDATE conversations SET name = ?, phone = ?, username = ? WHERE id = ?",
        (new.name, new.phone, new.username, conv),
    )
    db.execute("INSERT INTO customer_words(rowid, body) VALUES (?, ?)", (conv, search.customer_folded(new)))
    return int(conv)

def put_message(db: sqlite3.Connection, conv: int, message: Message) -> None:
    """Index one message of conversation row `conv` (once: a second time changes nothing)."""
    text = search.message_text(message)
    if not text:
        return
    row_id = _row_id(message)
    while True:
        cursor = db.execute(
            "INSERT OR IGNORE INTO messages(id, conv, mid, text) VALUES (?, ?, ?, ?)",
            (row_id, conv, message.id, text),
        )
        if cursor.rowcount == 1:
            break
        if db.execute("SELECT 1 FROM messages WHERE conv = ? AND mid = ?", (conv, message.id)).fetchone():
            return  # indexed already (a replay, or the rebuild met it first)
        row_id += 1  # another message of the same microsecond
    folded = search.fold(text)
    db.execute("INSERT INTO message_words(rowid, body) VALUES (?, ?)", (row_id, folded))
    db.executemany("INSERT OR IGNORE INTO message_terms VALUES (?)", ((w,) for w in set(search.words(folded))))


def find(
    db: sqlite3.Connection, query_terms: Sequence[str], limit: int, last_at: Callable[[str], datetime | None]
) -> list[SearchHit]:
    """Customers first (by their conversation's latest message, `last_at`), then messages,
    newest first. Raises sqlite3.Error."""
    people = db.execute(
        "SELECT c.id, c.cid, c.name, c.phone, c.username FROM customer_words w "
        "JOIN conversations c ON c.id = w.rowid WHERE customer_words MATCH ? LIMIT ?",
        (" ".join(map(_prefix, query_terms)), CUSTOMER_CAP),
    ).fetchall()
    said = db.execute(
        "SELECT m.id, c.cid, m.mid, m.text FROM (SELECT rowid FROM message_words "
        "WHERE message_words MATCH ? ORDER BY rowid DESC LIMIT ?) w "
        "JOIN messages m ON m.id = w.rowid JOIN conversations c ON c.id = m.conv ORDER BY m.id DESC",
        (_match(db, query_terms), limit),
    ).fetchall()
    oldest = datetime.min.replace(tzinfo=timezone.utc)
    found = sorted(((last_at(row[1]), row) for row in people), key=lambda p: p[0] or oldest, reverse=True)
    hits = []
    for at, (_, cid, *fields) in found[:limit]:
        cut = search.snippet(search.customer_text(_customer(fields)), query_terms)
        hits.append(SearchHit(cid, None, at, cut.text, cut.marks))
    for row_id, cid, mid, text in said[: limit - len(hits)]:
        cut = search.snippet(text, query_terms)
        hits.append(SearchHit(cid, mid, _timestamp(row_id), cut.text, cut.marks))
    return hits


def _match(db: sqlite3.Connection, query_terms: Sequence[str]) -> str:
    """The FTS5 query for messages. A prefix query ("refund"*) makes FTS5 gather every match
    before it can give the newest (5 ms at 10k conversations, ~50 at 100k), while words
    OR-ed are walked newest first and stop at the limit (0.1-0.5 ms): so a term becomes the
    words it starts (`message_terms`, kept on the write path) when there are at most EXPAND
    of them; two letters are looked up in FTS5's own index of two-letter prefixes."""
    parts = []
    for term in query_terms:
        if len(term) <= 2:
            parts.append(_prefix(term))
            continue
        found = [row[0] for row in db.execute(
            "SELECT term FROM message_terms WHERE term >= ? AND term < ? LIMIT ?", (term, term + "\U0010ffff", EXPAND + 1)
        )]
        if len(found) > EXPAND:
            parts.append(_prefix(term))
        else:
            parts.append("(" + " OR ".join(f'"{w}"' for w in found or [term]) + ")")
    return " AND ".join(parts)
