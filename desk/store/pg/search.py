"""The PostgreSQL store's search index (tables search_texts and search_words, 0002_store.sql),
kept in each write's transaction, answering `Store.search` with the contract's semantics
(desk.search: each word of the query starts a word of the text, folded in Python by desk.search
exactly as the embedded store folds, so both stores find the same; customers first).

A text's folded words are rows of `search_words` (C collation, a b-tree): a query's term is a
range scan there (`word >= term AND word < term || U+10FFFF`; a one-letter term is that word
only), the terms' hits intersected. What is written is found as soon as it commits, by every
replica; nothing to rebuild (the index is in the same transactions as the data).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from desk import search as find
from desk.codec import ts_from_doc, ts_to_doc
from desk.models import Customer, Message
from desk.store.contract import SearchHit

CUSTOMER = ""
"""The message id of a conversation's customer row."""
_TOP = "\U0010ffff"
"""Sorts after every character (C collation: after every UTF-8 sequence a word holds)."""


def _put(cur: psycopg.Cursor, cid: str, mid: str, at: float | None, text: str, folded: str) -> None:
    cur.execute(
        "INSERT INTO search_texts (conversation_id, message_id, at, text) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (conversation_id, message_id) DO UPDATE SET at = excluded.at, text = excluded.text",
        (cid, mid, at, text),
    )
    cur.execute("DELETE FROM search_words WHERE conversation_id = %s AND message_id = %s", (cid, mid))
    words = sorted(set(find.words(folded)))
    if words:
        cur.executemany(
            "INSERT INTO search_words (word, conversation_id, message_id) VALUES (%s, %s, %s)",
            [(w, cid, mid) for w in words],
        )


def index(conn: psycopg.Connection, cid: str, customer: Customer | None, messages: Iterable[Message]) -> None:
    """Index what a write brought to conversation `cid`: its customer as they are now (None:
    unchanged) and its new messages (each once: a second time changes nothing)."""
    with conn.cursor() as cur:
        if customer is not None:
            _put(cur, cid, CUSTOMER, None, find.customer_text(customer), find.customer_folded(customer))
        for message in messages:
            text = find.message_text(message)
            if text:
                _put(cur, cid, message.id, ts_to_doc(message.timestamp), text, find.fold(text))


def _hits(conn: psycopg.Connection, terms: Sequence[str], customers: bool, limit: int) -> list[tuple[str, str, float | None, str]]:
    """(conversation, message id, at, text) of what every term finds, newest first: a message's
    own time; a customer's, their conversation's latest message's (conversation_to_row's 8th)."""
    parts, args = [], []
    for term in terms:
        if len(term) == 1:
            parts.append("SELECT conversation_id, message_id FROM search_words WHERE word = %s")
            args.append(term)
        else:
            parts.append("SELECT conversation_id, message_id FROM search_words WHERE word >= %s AND word < %s")
            args += [term, term + _TOP]
    if customers:
        at, kind = "(c.summary->>7)::float8", "t.message_id = ''"
    else:
        at, kind = "t.at", "t.message_id <> ''"
    found = conn.execute(
        f"SELECT t.conversation_id, t.message_id, {at} AS at, t.text FROM ({' INTERSECT '.join(parts)}) AS m "
        "JOIN search_texts t USING (conversation_id, message_id) JOIN conversations c ON c.id = t.conversation_id "
        f"WHERE {kind} ORDER BY at DESC NULLS LAST, t.conversation_id, t.message_id LIMIT %s",
        (*args, limit),
    )
    return [(str(c), str(m), at, str(text)) for c, m, at, text in found]


def search(conn: psycopg.Connection, query: str, limit: int) -> list[SearchHit]:
    """Customers first (by their conversation's latest message), then messages, newest first."""
    terms = find.terms(query)
    if not terms or limit <= 0:
        return []
    hits: list[SearchHit] = []
    for customers in (True, False):
        for cid, mid, at, text in _hits(conn, terms, customers, limit - len(hits)):
            cut = find.snippet(text, terms)
            hits.append(SearchHit(cid, None if customers else mid, ts_from_doc(at), cut.text, cut.marks))
    return hits
