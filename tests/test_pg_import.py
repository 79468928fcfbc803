"""`import_store`: a single agent's TinyDB store, seeded with the mock's history, copied into the
team's PostgreSQL store: the same conversations, messages and statuses, audit, drafts, tabs,
quick replies, profiles and templates; a second run adds nothing and says so."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("psycopg")

from desk.clock import FrozenClock  # noqa: E402
from desk.customer import CustomerProfile  # noqa: E402
from desk.store.pg import PgStore  # noqa: E402
from desk.store.pg.importer import ImportCounts, import_store  # noqa: E402
from desk.store.pg.migrate import migrate  # noqa: E402
from tests.conftest import make_context  # noqa: E402


def test_a_seeded_store_is_copied_whole_and_a_second_import_adds_nothing(
    pg_url: str, tmp_path: Path, clock: FrozenClock
) -> None:
    context = make_context(tmp_path / "data", clock)
    source = context.store
    conversations = sorted(source.conversations(), key=lambda c: c.id)
    assert len(conversations) >= 5  # the mock's history
    first_id, second_id = conversations[0].id, conversations[1].id
    source.assign(first_id, "ana", agent="Ana")
    source.add_note(first_id, "VIP: call back", agent="Ana")
    source.save_draft(second_id, "One moment please")
    source.save_tabs("ana", [second_id, first_id])
    source.save_quick_reply("thanks", "Thank you for waiting!")
    customer = conversations[0].customer.id
    source.save_customer_profile(customer, CustomerProfile("Prefers mornings", (("plan", "gold"),)), agent="Ana")
    migrate(pg_url)
    target = PgStore(pg_url, clock=clock)
    target.open()
    try:
        counts = import_store(source, target)
        assert counts.conversations == len(conversations)
        assert counts.messages == sum(len(source.messages(c.id)) for c in conversations)
        assert (counts.drafts, counts.tabs, counts.quick_replies, counts.profiles) == (1, 1, 1, 1)
        assert counts.templates == len(source.catalogue_numbers()) > 0
        for conversation in source.conversations():
            assert target.conversation(conversation.id) == conversation
            theirs, ours = target.messages(conversation.id), source.messages(conversation.id)
            assert [(m.id, m.status, m.status_at, m.wamid, m.text) for m in theirs] == [
                (m.id, m.status, m.status_at, m.wamid, m.text) for m in ours
            ]
            assert theirs == ours
            assert target.audit(conversation.id) == source.audit(conversation.id)
        assert sorted(c.id for c in target.conversations()) == [c.id for c in conversations]
        assert target.draft(second_id) == "One moment please"
        assert target.tabs("ana") == [second_id, first_id]
        assert [(r.shortcut, r.text) for r in target.quick_replies()] == [("thanks", "Thank you for waiting!")]
        assert target.customer_profile(customer).attributes == (("plan", "gold"),)
        for bn in source.catalogue_numbers():
            assert target.templates(bn) == source.templates(bn)
            assert target.templates_synced_at(bn) == source.templates_synced_at(bn)
        assert target.search("VIP")[0].conversation_id == first_id
        before = target.last_change()
        again = import_store(source, target)
        assert again == ImportCounts()
        assert again.sentence().startswith("Imported 0 conversations, 0 messages")
        assert target.last_change() == before
    finally:
        target.close()
        source.close()
