"""What the PostgreSQL store keeps beside the conversations: each agent's drafts and tabs, and
the team's template catalogues, quick replies and customer profiles (tables in 0002_store.sql).
None of them is a change to a conversation, but for the templates: the store announces those."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from desk.codec import template_from_doc, ts_from_doc, ts_to_doc
from desk.customer import CustomerProfile
from desk.models import Template
from desk.quick_replies import QuickReply

NOBODY = ""
"""Whose drafts a call without an agent keeps (the embedded desk's one agent; a hub names each)."""


def draft(conn: psycopg.Connection, conversation_id: str, agent: str | None) -> str:
    row = conn.execute(
        "SELECT text FROM drafts WHERE agent = %s AND conversation_id = %s", (agent or NOBODY, conversation_id)
    ).fetchone()
    return str(row[0]) if row else ""


def save_draft(conn: psycopg.Connection, conversation_id: str, text: str, agent: str | None) -> None:
    if text:
        conn.execute(
            "INSERT INTO drafts (agent, conversation_id, text) VALUES (%s, %s, %s) "
            "ON CONFLICT (agent, conversation_id) DO UPDATE SET text = excluded.text",
            (agent or NOBODY, conversation_id, text),
        )
    else:
        conn.execute("DELETE FROM drafts WHERE agent = %s AND conversation_id = %s", (agent or NOBODY, conversation_id))


def tabs(conn: psycopg.Connection, agent: str) -> list[str]:
    row = conn.execute("SELECT conversations FROM tabs WHERE agent = %s", (agent,)).fetchone()
    return [str(c) for c in row[0]] if row else []


def save_tabs(conn: psycopg.Connection, agent: str, conversation_ids: Sequence[str]) -> None:
    conn.execute(
        "INSERT INTO tabs (agent, conversations) VALUES (%s, %s) "
        "ON CONFLICT (agent) DO UPDATE SET conversations = excluded.conversations",
        (agent, Jsonb(list(dict.fromkeys(conversation_ids)))),
    )


def catalogue(conn: psycopg.Connection, business_number_id: str) -> tuple[list[Template], datetime | None]:
    row = conn.execute(
        "SELECT templates, synced_at FROM templates WHERE business_number_id = %s", (business_number_id,)
    ).fetchone()
    if row is None:
        return [], None
    return [template_from_doc(t) for t in row[0]], ts_from_doc(row[1])


def quick_replies(conn: psycopg.Connection) -> list[QuickReply]:
    return [QuickReply(str(s), str(t)) for s, t in conn.execute("SELECT shortcut, text FROM quick_replies ORDER BY shortcut")]


def save_quick_reply(conn: psycopg.Connection, reply: QuickReply) -> None:
    conn.execute(
        "INSERT INTO quick_replies (shortcut, text) VALUES (%s, %s) ON CONFLICT (shortcut) DO UPDATE SET text = excluded.text",
        (reply.shortcut, reply.text),
    )


def delete_quick_reply(conn: psycopg.Connection, shortcut: str) -> bool:
    return conn.execute("DELETE FROM quick_replies WHERE shortcut = %s", (shortcut,)).rowcount > 0


def _profile(row: tuple[object, ...] | None) -> CustomerProfile:
    if row is None:
        return CustomerProfile()
    notes, attributes, updated_at, updated_by = row
    assert isinstance(attributes, list) and (updated_at is None or isinstance(updated_at, float))
    pairs = tuple((str(k), str(v)) for k, v in attributes)
    return CustomerProfile(str(notes), pairs, ts_from_doc(updated_at), str(updated_by) if updated_by else None)


def profile(conn: psycopg.Connection, customer_id: str) -> CustomerProfile:
    return _profile(conn.execute(
        "SELECT notes, attributes, updated_at, updated_by FROM customer_profiles WHERE customer_id = %s", (customer_id,)
    ).fetchone())


def save_profile(conn: psycopg.Connection, customer_id: str, new: CustomerProfile) -> CustomerProfile:
    """In the caller's transaction: `new` in place of what was kept (its row locked), unless the
    notes and attributes are the same (the stamp stays); an empty one removes it. Returns what is kept."""
    kept = _profile(conn.execute(
        "SELECT notes, attributes, updated_at, updated_by FROM customer_profiles WHERE customer_id = %s FOR UPDATE",
        (customer_id,),
    ).fetchone())
    if (kept.notes, kept.attributes) == (new.notes, new.attributes):
        return kept
    if new.is_empty:
        conn.execute("DELETE FROM customer_profiles WHERE customer_id = %s", (customer_id,))
        return CustomerProfile()
    conn.execute(
        "INSERT INTO customer_profiles (customer_id, notes, attributes, updated_at, updated_by) "
        "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (customer_id) DO UPDATE SET notes = excluded.notes, "
        "attributes = excluded.attributes, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        (customer_id, new.notes, Jsonb([list(p) for p in new.attributes]), ts_to_doc(new.updated_at), new.updated_by),
    )
    return new
