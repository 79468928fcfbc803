"""The PostgreSQL store's search index (table search_texts, 0002_store.sql and
0006_search_lexemes.sql), kept in each write's transaction, answering `Store.search` with the
contract's semantics (desk.search: each word of the query starts a word of the text, folded in
Python by desk.search exactly as the embedded store folds, so both stores find the same;
customers first).

A text's folded words are the lexemes of its row's `words` tsvector (GIN), given as they are
(array_to_tsvector: PostgreSQL's parser, stemming and stop words never touch them), each cut to
MAX_TERM characters (a query's term is never longer, so a prefix of the word is a prefix of the
cut). A query is one tsquery of its terms ANDed: `'term':*` (a byte prefix; UTF-8, so a prefix
of whole characters), a one-letter term that word only. What is written is found as soon as it
commits, by every replica; nothing to rebuild (the index is in the same transactions as the data).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg

from desk import search as find
from desk.codec import ts_from_doc, ts_to_doc
from desk.models import Customer, Message
from desk.store.contract import SearchHit
from desk.store.pg.connect import columns

CUSTOMER = ""
"""The message id of a conversation's customer row."""
_PUT = (
    "INSERT INTO search_texts (conversation_id, message_id, at, text, words) "
    "SELECT c, m, a, t, array_to_tsvector(string_to_array(w, %s)) "
    "FROM unnest(%b::text[], %b::text[], %b::float8[], %b::text[], %b::text[]) AS u(c, m, a, t, w) "
    "ON CONFLICT (conversation_id, message_id) DO UPDATE SET at = excluded.at, text = excluded.text, words = excluded.words"
)
_SEPARATOR = "\x1f"
"""Between a text's words on their way (one string a row: unnest takes no ragged arrays). A
control character: never in a word (desk.search.words are letters, digits and marks)."""

Row = tuple[str, str, float | None, str, str]
"""(conversation, message id, at, text, its words joined by _SEPARATOR)."""


def _lexemes(folded: str) -> str:
    return _SEPARATOR.join(sorted({word[: find.MAX_TERM] for word in find.words(folded)}))


def rows(cid: str, customer: Customer | None, messages: Iterable[Message]) -> list[Row]:
    """The index's rows for what a write brought to conversation `cid`: its customer as they are
    now (None: unchanged) and its new messages (each once: a second time changes nothing)."""
    found: list[Row] = []
    if customer is not None:
        found.append((cid, CUSTOMER, None, find.customer_text(customer), _lexemes(find.customer_folded(customer))))
    for message in messages:
        text = find.message_text(message)
        if text:
            found.append((cid, message.id, ts_to_doc(message.timestamp), text, _lexemes(find.fold(text))))
    return found


def put(conn: psycopg.Connection, found: Sequence[Row]) -> None:
    """Write `found` (of rows()), one statement for all (a text written twice in one call: its
    last row; one INSERT may not update a row twice)."""
    last = list({(row[0], row[1]): row for row in found}.values())
    if last:
        conn.execute(_PUT, [_SEPARATOR, *columns(last)])


def _query(terms: Sequence[str]) -> str:
    """The terms as one tsquery, each a quoted lexeme (quotes doubled, backslashes escaped: the
    input syntax, never PostgreSQL's parser), a prefix unless it is one letter."""
    quoted = ("'" + t.replace("\\", "\\\\").replace("'", "''") + "'" + ("" if len(t) == 1 else ":*") for t in terms)
    return " & ".join(quoted)


def _hits(conn: psycopg.Connection, terms: Sequence[str], customers: bool, limit: int) -> list[tuple[str, str, float | None, str]]:
    """(conversation, message id, at, text) of what every term finds, newest first: a message's
    own time; a customer's, their conversation's latest message's (conversation_to_row's 8th)."""
    if customers:
        at, kind = "(c.summary->>7)::float8", "t.message_id = ''"
    else:
        at, kind = "t.at", "t.message_id <> ''"
    found = conn.execute(
        f"SELECT t.conversation_id, t.message_id, {at} AS at, t.text FROM search_texts t "
        "JOIN conversations c ON c.id = t.conversation_id "
        f"WHERE t.words @@ %s::tsquery AND {kind} ORDER BY at DESC NULLS LAST, t.conversation_id, t.message_id LIMIT %s",
        (_query(terms), limit),
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
