"""`wadesk hub import DATA_DIR`'s work: a single agent's embedded store copied into the team's
PostgreSQL store, idempotently: conversations with their messages, statuses and audit log as the
documents hold them, drafts, tabs, quick replies, customer profiles and template catalogues. A
second run adds nothing, and its counts say so.

What the team's store has already is kept: a conversation it has gets only the messages it lacks
(a hub that took webhooks before the import); a quick reply or a profile it has stays the team's;
a draft is imported only where the agent has none there yet.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from desk.models import TemplatesChanged
from desk.store.pg.store import PgStore
from desk.store.tiny import TinyStore


@dataclass(frozen=True)
class ImportCounts:
    """What the import added (0 everywhere: it was all there)."""

    conversations: int = 0
    messages: int = 0
    """With their statuses, as the documents hold them."""
    audit: int = 0
    drafts: int = 0
    tabs: int = 0
    quick_replies: int = 0
    profiles: int = 0
    templates: int = 0
    """Business numbers whose catalogue changed."""

    def sentence(self) -> str:
        """The counts, for `wadesk hub import` to print."""
        parts = [f"{getattr(self, f.name)} {f.name.replace('_', ' ')}" for f in fields(self)]
        return "Imported " + ", ".join(parts) + "."


def import_store(source: TinyStore, target: PgStore, *, agent: str | None = None) -> ImportCounts:
    """Copy `source` (opened) into `target` (opened). `agent`: whose the drafts are in the team's
    store (the desk's agent; None: the store's own, as the embedded desk kept them)."""
    conversations = messages = audit = drafts = tabs = replies = profiles = templates = 0
    for conversation in sorted(source.conversations(), key=lambda c: c.id):
        document = source.document(conversation.id)
        if document is None:
            continue
        new = target.conversation(conversation.id) is None
        added, logged = target.put_document(conversation.id, document)
        conversations += int(new and added + logged > 0)
        messages, audit = messages + added, audit + logged
        text = source.draft(conversation.id)
        if text and not target.draft(conversation.id, agent=agent):
            target.save_draft(conversation.id, text, agent=agent)
            drafts += 1
    for name in source.tab_agents():
        if not target.tabs(name) and source.tabs(name):
            target.save_tabs(name, source.tabs(name))
            tabs += 1
    kept = {r.shortcut for r in target.quick_replies()}
    for reply in source.quick_replies():
        if reply.shortcut not in kept:
            target.save_quick_reply(reply.shortcut, reply.text)
            replies += 1
    for customer_id in source.profiled_customers():
        profile = source.customer_profile(customer_id)
        if target.customer_profile(customer_id).is_empty and not profile.is_empty:
            target.save_customer_profile(customer_id, profile, agent=profile.updated_by)
            profiles += 1
    for bn in source.catalogue_numbers():
        before = (target.templates(bn), target.templates_synced_at(bn))
        target.apply(TemplatesChanged(bn, tuple(source.templates(bn)), source.templates_synced_at(bn)))
        templates += int((target.templates(bn), target.templates_synced_at(bn)) != before)
    return ImportCounts(conversations, messages, audit, drafts, tabs, replies, profiles, templates)
