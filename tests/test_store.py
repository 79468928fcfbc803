"""The TinyDB store: idempotence, forward-only statuses, restarts, the summary rule, hostile text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from desk.clock import FrozenClock
from desk.codec import conversation_from_row, conversation_to_row, message_from_doc, message_to_doc, ts_from_doc, ts_to_doc
from desk.models import (
    ConversationStatus,
    ConversationStatusChanged,
    Customer,
    Direction,
    Location,
    Media,
    Message,
    MessageReceived,
    MessageStatus,
    StatusChanged,
    Template,
    TemplateButton,
    TemplatesChanged,
    TemplateStatus,
    conversation_id,
)
from desk.store.tiny import TinyStore
from desk.store.tiny.files import safe_name, shard_path
from desk.store.tiny.journal import Journal
from desk.summary import ConversationMeta, one_line, summarize

BN = "106540352242922"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
ALICE = Customer("15551234567", "Alice", phone="+15551234567", country="US")
CID = conversation_id(BN, ALICE.id)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def inbound(mid: str, minutes: float, text: str = "hi", *, type: str = "text", customer=ALICE, **kw) -> MessageReceived:
    cid = conversation_id(BN, customer.id)
    msg = Message(mid, cid, Direction.INBOUND, type, at(minutes), MessageStatus.RECEIVED, text, **kw)
    return MessageReceived(BN, customer, msg)


def outgoing(mid: str, minutes: float, text: str = "hello", cid: str = CID) -> Message:
    return Message(mid, cid, Direction.OUTBOUND, "text", at(minutes), MessageStatus.QUEUED, text, agent="ana")


def status(wamid: str, st: MessageStatus, minutes: float, **kw) -> StatusChanged:
    return StatusChanged(BN, ALICE.id, wamid, st, at(minutes), **kw)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    s = TinyStore(data_dir, clock=FrozenClock(at(600)))
    s.open()
    yield s
    s.close()


def reopen(store: TinyStore) -> TinyStore:
    store.close()
    fresh = TinyStore(store.data_dir, clock=FrozenClock(at(600)))
    fresh.open()
    return fresh


def sent(store: TinyStore, mid: str, minutes: float, wamid: str) -> Message:
    store.record_outgoing(outgoing(mid, minutes))
    store.update_outgoing(CID, mid, MessageStatus.SENDING, at=at(minutes))
    return store.update_outgoing(CID, mid, MessageStatus.SENT, at=at(minutes), wamid=wamid)


# --- idempotence and statuses ------------------------------------------------------------------------


def test_duplicate_inbound_is_stored_once(store: TinyStore, data_dir: Path):
    assert store.apply(inbound("wamid.A", 0)) == CID
    store.flush()  # shards are written lazily: now it is in its file
    shard = shard_path(data_dir / "conversations", CID)
    before = shard.stat().st_mtime_ns, shard.read_bytes()
    journal_before = (data_dir / "journal.jsonl").read_bytes()
    assert store.apply(inbound("wamid.A", 0)) is None
    assert store.apply(inbound("wamid.A", 5, "a retry with other content")) is None
    assert [m.id for m in store.messages(CID)] == ["wamid.A"]
    assert store.conversation(CID).message_count == 1
    assert (shard.stat().st_mtime_ns, shard.read_bytes()) == before
    assert (data_dir / "journal.jsonl").read_bytes() == journal_before


def test_statuses_only_move_forward(store: TinyStore):
    store.apply(inbound("wamid.in", 0))
    sent(store, "local-1", 1, "wamid.out1")
    assert store.apply(status("wamid.out1", MessageStatus.READ, 3)) == CID
    assert store.apply(status("wamid.out1", MessageStatus.DELIVERED, 2)) is None
    assert store.apply(status("wamid.out1", MessageStatus.SENT, 1)) is None
    (msg,) = [m for m in store.messages(CID) if m.id == "local-1"]
    assert msg.status is MessageStatus.READ and msg.status_at == at(3)


def test_failed_then_delivered_becomes_delivered(store: TinyStore):
    store.apply(inbound("wamid.in", 0))
    sent(store, "local-1", 1, "wamid.out1")
    assert store.apply(status("wamid.out1", MessageStatus.FAILED, 2, error_code=131026, error_text="Undeliverable.")) == CID
    (msg,) = [m for m in store.messages(CID) if m.id == "local-1"]
    assert (msg.status, msg.error_code, msg.error_text) == (MessageStatus.FAILED, 131026, "Undeliverable.")
    assert store.apply(status("wamid.out1", MessageStatus.DELIVERED, 3)) == CID
    (msg,) = [m for m in store.messages(CID) if m.id == "local-1"]
    assert msg.status is MessageStatus.DELIVERED and msg.error_code is None
    assert store.apply(status("wamid.out1", MessageStatus.FAILED, 4)) is None


def test_status_before_the_message_is_known_is_applied_later(store: TinyStore):
    store.apply(inbound("wamid.in", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(CID, "local-1", MessageStatus.SENDING, at=at(1))
    # WhatsApp's webhook beats the send's response.
    assert store.apply(status("wamid.out1", MessageStatus.DELIVERED, 2)) is None
    assert store.apply(status("wamid.out1", MessageStatus.DELIVERED, 2)) is None  # a duplicate
    updated = store.update_outgoing(CID, "local-1", MessageStatus.SENT, at=at(1.5), wamid="wamid.out1")
    assert updated.status is MessageStatus.DELIVERED and updated.wamid == "wamid.out1"
    assert store.conversation(CID).last_reply_at == at(1)
    # The pending status was used up; a later read still moves it on.
    assert store.apply(status("wamid.out1", MessageStatus.READ, 3)) == CID


def test_status_for_a_history_message_is_applied_when_it_arrives(store: TinyStore):
    store.apply(inbound("wamid.in", 0))
    assert store.apply(status("wamid.hist", MessageStatus.READ, 5)) is None
    ours = Message("wamid.hist", CID, Direction.OUTBOUND, "text", at(1), MessageStatus.SENT, "from history")
    assert store.apply(MessageReceived(BN, ALICE, ours)) == CID
    (msg,) = [m for m in store.messages(CID) if m.id == "wamid.hist"]
    assert msg.status is MessageStatus.READ


def test_status_before_the_conversation_exists(store: TinyStore):
    assert store.apply(status("wamid.hist", MessageStatus.DELIVERED, 5)) is None
    assert store.conversations() == [] and store.messages(CID) == []
    ours = Message("wamid.hist", CID, Direction.OUTBOUND, "text", at(1), MessageStatus.SENT, "from history")
    assert store.apply(MessageReceived(BN, ALICE, ours)) == CID
    assert store.messages(CID)[0].status is MessageStatus.DELIVERED
    store = reopen(store)
    try:
        assert [c.id for c in store.conversations()] == [CID]
    finally:
        store.close()


def test_outbox_moves(store: TinyStore):
    store.apply(inbound("wamid.in", 0))
    with pytest.raises(ValueError):
        store.record_outgoing(outgoing("x", 1).with_status(MessageStatus.SENDING))
    with pytest.raises(KeyError):
        store.record_outgoing(outgoing("x", 1, cid=conversation_id(BN, "999")))
    with pytest.raises(KeyError):
        store.update_outgoing(CID, "nope", MessageStatus.SENT, at=at(1))
    store.record_outgoing(outgoing("local-1", 1))
    assert store.record_outgoing(outgoing("local-1", 1)).status is MessageStatus.QUEUED  # idempotent
    assert len(store.messages(CID)) == 2
    # A timeout, then the agent's explicit retry.
    m = store.update_outgoing(CID, "local-1", MessageStatus.UNKNOWN, at=at(2), error_text="No answer.")
    assert (m.status, m.error_text) == (MessageStatus.UNKNOWN, "No answer.")
    m = store.update_outgoing(CID, "local-1", MessageStatus.QUEUED, at=at(3))
    assert (m.status, m.error_text) == (MessageStatus.QUEUED, None)
    m = store.update_outgoing(CID, "local-1", MessageStatus.FAILED, at=at(4), error_code=131047, error_text="Window closed.")
    assert (m.status, m.error_code) == (MessageStatus.FAILED, 131047)
    m = store.update_outgoing(CID, "local-1", MessageStatus.QUEUED, at=at(5))
    m = store.update_outgoing(CID, "local-1", MessageStatus.SENT, at=at(6), wamid="wamid.o")
    assert m.status is MessageStatus.SENT and m.error_code is None
    store.apply(status("wamid.o", MessageStatus.DELIVERED, 7))
    # Settled by WhatsApp: the outbox can no longer move it.
    m = store.update_outgoing(CID, "local-1", MessageStatus.SENT, at=at(8))
    assert m.status is MessageStatus.DELIVERED
    m = store.update_outgoing(CID, "local-1", MessageStatus.QUEUED, at=at(8))
    assert m.status is MessageStatus.DELIVERED


def test_queued_again_only_from_failed_or_unknown(store: TinyStore):
    store.apply(inbound("wamid.in", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(CID, "local-1", MessageStatus.SENDING, at=at(1))
    m = store.update_outgoing(CID, "local-1", MessageStatus.QUEUED, at=at(2))
    assert m.status is MessageStatus.SENDING


def test_conversation_status_event_and_set_status(store: TinyStore):
    store.apply(inbound("wamid.in", 0))
    event = ConversationStatusChanged(BN, ALICE.id, ConversationStatus.RESOLVED, at(10))
    assert store.apply(event) == CID
    assert store.apply(event) is None
    assert store.conversation(CID).status is ConversationStatus.RESOLVED
    store.set_status(CID, ConversationStatus.OPEN)
    assert store.conversation(CID).status is ConversationStatus.OPEN
    store.set_status(CID, ConversationStatus.RESOLVED)
    assert store.conversation(CID).status is ConversationStatus.RESOLVED
    with pytest.raises(KeyError):
        store.set_status("nobody~0", ConversationStatus.RESOLVED)
    assert store.apply(ConversationStatusChanged(BN, "0", ConversationStatus.OPEN, at(1))) is None


def test_mark_read(store: TinyStore):
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 1))
    assert store.conversation(CID).unread == 2
    store.mark_read(CID)
    assert store.conversation(CID).unread == 0
    store.apply(inbound("wamid.3", 2))
    assert store.conversation(CID).unread == 1


def test_customer_name_is_updated(store: TinyStore):
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 1, customer=Customer(ALICE.id, "Alice Smith")))
    customer = store.conversation(CID).customer
    assert customer.name == "Alice Smith" and customer.phone == ALICE.phone


# --- restarts --------------------------------------------------------------------------------------


def test_restart_keeps_everything_once(store: TinyStore):
    store.apply(inbound("wamid.1", 0, "first"))
    store.apply(inbound("wamid.2", 1, "second"))
    bob = Customer("US.13491208655302741918", "Bob")
    store.apply(inbound("wamid.b1", 2, "hello from bob", customer=bob))
    sent(store, "local-1", 3, "wamid.out1")
    store.apply(status("wamid.out1", MessageStatus.READ, 4))
    store.apply(status("wamid.unknown", MessageStatus.DELIVERED, 4))  # pending
    store.mark_read(CID)
    store.set_status(conversation_id(BN, bob.id), ConversationStatus.RESOLVED)
    store.save_draft(CID, "Let me check that for you")
    store.save_draft(conversation_id(BN, bob.id), "gone soon")
    store.save_draft(conversation_id(BN, bob.id), "")
    tpl = Template("order_update", "en_US", "UTILITY", TemplateStatus.APPROVED, BN, "Hi {{1}}",
                   buttons=(TemplateButton("QUICK_REPLY", "OK"),), id="77")
    store.apply(TemplatesChanged(BN, (tpl,), synced_at=at(5)))
    before = {c.id: c for c in store.conversations()}
    messages_before = {cid: store.messages(cid) for cid in before}

    store = reopen(store)
    try:
        assert {c.id: c for c in store.conversations()} == before
        assert {cid: store.messages(cid) for cid in before} == messages_before
        assert store.draft(CID) == "Let me check that for you"
        assert store.draft(conversation_id(BN, bob.id)) == ""
        assert store.templates(BN) == [tpl]
        assert store.templates_synced_at(BN) == at(5)
        # Everything applied again is a duplicate.
        assert store.apply(inbound("wamid.1", 0, "first")) is None
        assert store.apply(status("wamid.out1", MessageStatus.DELIVERED, 4)) is None
        assert store.conversation(CID).message_count == 3
        assert store.conversation(CID).unread == 0
        assert store.conversation(conversation_id(BN, bob.id)).status is ConversationStatus.RESOLVED
        # The pending status survived too.
        store.record_outgoing(outgoing("local-2", 6))
        m = store.update_outgoing(CID, "local-2", MessageStatus.SENT, at=at(6), wamid="wamid.unknown")
        assert m.status is MessageStatus.DELIVERED
    finally:
        store.close()


def test_restart_without_close_replays_the_journal(data_dir: Path):
    store = TinyStore(data_dir)
    store.open()
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 1))
    expected = store.conversations()
    # Simulate a crash: drop the store without close() (no index flush), release only the locks.
    store._journal.close()
    store._lock.release()
    store._search._db.close()  # (the search index's SQLite lock goes with the process too)
    assert len(Journal(data_dir / "journal.jsonl").read()[0]) == 2
    again = TinyStore(data_dir)
    again.open()
    try:
        assert again.conversations() == expected
        assert len(again.messages(CID)) == 2
        assert Journal(data_dir / "journal.jsonl").read()[0] == []  # replayed, flushed, emptied
    finally:
        again.close()


def test_index_is_flushed_every_n_records(data_dir: Path):
    store = TinyStore(data_dir)
    store.INDEX_FLUSH_RECORDS = 3
    store.open()
    try:
        for i in range(7):
            store.apply(inbound(f"wamid.{i}", i))
        assert store._journal.count == 1
        index = orjson.loads((data_dir / "index.json").read_bytes())
        assert index["meta"]["1"]["seq"] == 6
        (row,) = [row for doc in index["conversations"].values() for row in doc["rows"]]
        assert conversation_from_row(row).message_count == 6  # when flushed
    finally:
        store.close()


def test_lost_index_is_rebuilt_from_the_shards(store: TinyStore, data_dir: Path):
    store.apply(inbound("wamid.1", 0))
    store.apply(inbound("wamid.2", 1, customer=Customer("447700900123", "Carol")))
    before = sorted(store.conversations(), key=lambda c: c.id)
    store.close()
    (data_dir / "index.json").write_bytes(b"{not json")
    again = TinyStore(data_dir)
    again.open()
    try:
        assert sorted(again.conversations(), key=lambda c: c.id) == before
    finally:
        again.close()


def test_sending_becomes_unknown_after_reopen_and_queued_stays(store: TinyStore):
    store.apply(inbound("wamid.in", 0))
    store.record_outgoing(outgoing("local-1", 1))
    store.update_outgoing(CID, "local-1", MessageStatus.SENDING, at=at(1))
    store.record_outgoing(outgoing("local-2", 2))
    store = reopen(store)
    try:
        by_id = {m.id: m for m in store.messages(CID)}
        assert by_id["local-1"].status is MessageStatus.UNKNOWN
        assert by_id["local-1"].error_text
        assert by_id["local-2"].status is MessageStatus.QUEUED
        assert [m.id for m in store.queued()] == ["local-2"]
    finally:
        store.close()


def test_templates_sync_replaces_and_a_webhook_updates_one(store: TinyStore):
    a = Template("a", "en_US", "UTILITY", TemplateStatus.APPROVED, BN, "A")
    b = Template("b", "en_US", "UTILITY", TemplateStatus.PENDING, BN, "B")
    assert store.apply(TemplatesChanged(BN, (a, b), synced_at=at(1))) is None
    b_ok = Template("b", "en_US", "UTILITY", TemplateStatus.APPROVED, BN, "B")
    store.apply(TemplatesChanged(BN, (b_ok,)))
    assert store.templates(BN) == [a, b_ok] and store.templates_synced_at(BN) == at(1)
    store.apply(TemplatesChanged(BN, (a,), synced_at=at(2)))
    assert store.templates(BN) == [a] and store.templates_synced_at(BN) == at(2)
    assert store.templates("other") == [] and store.templates_synced_at("other") is None


# --- the summary rule ----------------------------------------------------------------------------------

META = ConversationMeta(CID, BN, ALICE)


def msg(mid, minutes, direction=Direction.INBOUND, status=None, type="text", text="x", **kw) -> Message:
    if status is None:
        status = MessageStatus.RECEIVED if direction is Direction.INBOUND else MessageStatus.SENT
    return Message(mid, CID, direction, type, at(minutes), status, text, **kw)


OUT = Direction.OUTBOUND


def test_summary_waiting_since_and_replies():
    messages = [
        msg("1", 0),
        msg("2", 1),
        msg("3", 5, OUT),
        msg("4", 6, OUT, MessageStatus.READ),
        msg("5", 10),
        msg("6", 11),
        msg("7", 12, OUT, MessageStatus.FAILED),
        msg("8", 13, OUT, MessageStatus.QUEUED, text="drafted reply"),
    ]
    s = summarize(META, messages)
    assert s.first_reply_at == at(5) and s.last_reply_at == at(6)
    assert s.waiting_since == at(10)
    assert s.last_inbound_at == at(11) and s.last_message_at == at(13)
    assert s.preview == "drafted reply" and s.preview_direction is OUT
    # Writing implies reading: nothing the customer sent before our last message is unread.
    assert s.unread == 0 and s.message_count == 8
    later = summarize(META, messages + [msg("9", 14), msg("10", 15, type="reaction")])
    assert later.unread == 2


def test_notes_are_not_replies():
    s = summarize(META, [msg("1", 0), msg("2", 1, OUT, type="note", text="VIP customer")])
    assert s.waiting_since == at(0) and s.last_reply_at is None and s.preview == "VIP customer"


def test_summary_no_reply_yet():
    s = summarize(META, [msg("1", 0), msg("2", 3)])
    assert s.waiting_since == at(0) and s.first_reply_at is None and s.last_reply_at is None


def test_summary_answered():
    s = summarize(META, [msg("1", 0), msg("2", 3, OUT, MessageStatus.DELIVERED)])
    assert s.waiting_since is None and s.first_reply_at == at(3)


def test_summary_unread_counts_after_read_upto():
    meta = ConversationMeta(CID, BN, ALICE, read_upto=at(1))
    s = summarize(meta, [msg("1", 0), msg("2", 1), msg("3", 2)])
    assert s.unread == 1
    # Our own later message means the agent saw everything before it.
    assert summarize(meta, [msg("1", 0), msg("2", 1), msg("3", 2), msg("4", 3, OUT)]).unread == 0


def test_reactions_and_system_messages_do_not_start_the_clock():
    s = summarize(META, [msg("1", 0), msg("2", 1, OUT), msg("3", 2, type="reaction", text="👍"),
                         msg("4", 3, type="system", text="Alice changed her number")])
    assert s.waiting_since is None
    assert s.last_inbound_at == at(3)
    s = summarize(META, [msg("1", 0, OUT), msg("2", 1, type="reaction", text="👍"), msg("3", 2)])
    assert s.waiting_since == at(2)


def test_resolved_is_reopened_by_a_newer_customer_message_only():
    meta = ConversationMeta(CID, BN, ALICE, status=ConversationStatus.RESOLVED, resolved_at=at(5))
    base = [msg("1", 0), msg("2", 1, OUT)]
    assert summarize(meta, base).status is ConversationStatus.RESOLVED
    assert summarize(meta, base + [msg("3", 6, type="reaction", text="❤")]).status is ConversationStatus.RESOLVED
    assert summarize(meta, base + [msg("3", 6, OUT)]).status is ConversationStatus.RESOLVED
    assert summarize(meta, base + [msg("3", 6)]).status is ConversationStatus.OPEN


def test_resolved_conversation_reopens_in_the_store(store: TinyStore):
    store.apply(inbound("wamid.1", 0))
    store.set_status(CID, ConversationStatus.RESOLVED)
    assert store.conversation(CID).status is ConversationStatus.RESOLVED
    store.apply(inbound("wamid.2", 601))  # after the (frozen) clock's resolve time
    assert store.conversation(CID).status is ConversationStatus.OPEN


def test_empty_summary():
    s = summarize(META, [])
    assert (s.preview, s.preview_direction, s.message_count, s.last_message_at) == ("", None, 0, None)


@pytest.mark.parametrize(
    ("message", "line"),
    [
        (msg("1", 0, text="two\nlines\r\n\tand  tabs"), "two lines and tabs"),
        (msg("1", 0, type="image", text="", media=Media("image", caption="look\nhere")), "image: look here"),
        (msg("1", 0, type="image", text="", media=Media("image")), "image"),
        (msg("1", 0, type="document", text="", media=Media("document", filename="name.pdf", size=1_258_291)),
         "document: name.pdf (1.2 MB)"),
        (msg("1", 0, type="document", text="", media=Media("document", filename="name.pdf")), "document: name.pdf"),
        (msg("1", 0, type="audio", text="", media=Media("voice")), "voice message"),
        (msg("1", 0, type="location", text="", location=Location(1.0, 2.0, "Dam Square")), "location: Dam Square"),
        (msg("1", 0, type="contacts", text="", contacts=("Jane Roe +15550100",)), "contact: Jane Roe"),
        (msg("1", 0, type="reaction", text="👍"), "reaction 👍"),
        (msg("1", 0, OUT, type="template", text="", template="order_update (en_US)"), "template: order_update (en_US)"),
        (msg("1", 0, type="unsupported", text=""), "unsupported message"),
        (msg("1", 0, type="hologram", text=""), "hologram message"),
        (msg("1", 0, type="text", text="\x1b[31mred\x1b[0m"), "␛[31mred␛[0m"),  # shown, harmless
    ],
)
def test_one_line(message: Message, line: str):
    assert one_line(message) == line


def test_preview_is_capped_and_one_line():
    s = summarize(META, [msg("1", 0, text="y" * 10_000 + "\nmore")])
    assert len(s.preview) <= 200 and "\n" not in s.preview


# --- text and names ------------------------------------------------------------------------------------

HOSTILE = [
    "[bold red]not markup[/] [link=https://evil.example]click[/link] $x \\[escaped]",
    "\x1b[2J\x1b[31mANSI\x1b[0m\x07\x00 nul",
    "\u202eRTL override\u202c \u200fmark\u200e \u2067isolate\u2069 עברית العربية",
    "emoji 👍🏽 👨‍👩‍👧‍👦 🇳🇱 \ufe0f e\u0301",
    "line1\r\nline2\rline3\n\ttab",
    "z" * 10_000,
    '{"json": "inside"} <script>alert(1)</script> \' " \\',
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_round_trips_byte_exact(store: TinyStore, text: str):
    evil = Customer("15550001111", text)
    event = inbound("wamid." + str(abs(hash(text))), 0, text, customer=evil,
                    media=Media("document", caption=text, filename=text))
    cid = store.apply(event)
    store.save_draft(cid, text)
    store = reopen(store)
    try:
        (m,) = store.messages(cid)
        assert m.text.encode("utf-8") == text.encode("utf-8")
        assert m.media.caption == text and m.media.filename == text
        assert store.conversation(cid).customer.name == text
        assert store.draft(cid) == text
        assert m == event.message
    finally:
        store.close()


@pytest.mark.parametrize(
    "customer_id",
    ["15551234567", "US.13491208655302741918", "us.13491208655302741918", "a+b", "a/b", "..", ".hidden",
     "con", "a%2Fb", "ünï", "x" * 300],
)
def test_conversation_id_maps_to_a_safe_file_name(tmp_path: Path, customer_id: str):
    cid = conversation_id(BN, customer_id)
    name = safe_name(cid)
    assert set(name) <= set("abcdefghijklmnopqrstuvwxyz0123456789-_.~%ABCDEF")
    assert not name.startswith(".") and len(name) <= 180
    path = shard_path(tmp_path, cid)
    assert path.parent.parent == tmp_path and len(path.parent.name) == 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")  # the filesystem takes it


def test_file_names_do_not_collide_even_ignoring_case():
    ids = ["US.abc", "us.abc", "Us.abc", "a+b", "a%2Bb", "a b", "a/b", "a%2Fb", "a.b", "a~b"]
    names = [safe_name(conversation_id(BN, i)) for i in ids]
    assert len({n.lower() for n in names}) == len(ids)


def test_shard_name_and_store_with_odd_ids(store: TinyStore):
    odd = Customer("US.13491208655302741918", "Dana", username="@dana")
    cid = store.apply(inbound("wamid.odd", 0, customer=odd))
    assert cid == f"{BN}~US.13491208655302741918"
    store.flush()  # shards are written lazily: now it is in its file
    path = shard_path(store.data_dir / "conversations", cid)
    assert path.exists() and "%55%53.13491208655302741918" in path.name
    assert store.messages(cid)[0].id == "wamid.odd"


def test_datetimes_round_trip_exactly():
    for value in [T0, T0.replace(microsecond=1), T0.replace(microsecond=999_999),
                  datetime(2038, 1, 19, 3, 14, 7, 123456, tzinfo=timezone.utc),
                  datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=5, minutes=30)))]:
        back = ts_from_doc(orjson.loads(orjson.dumps(ts_to_doc(value))))
        assert back == value and back.tzinfo is timezone.utc
    assert isinstance(ts_to_doc(T0), int)
    with pytest.raises(ValueError):
        ts_to_doc(datetime(2026, 1, 1))


def test_index_rows_round_trip():
    odd = Customer("a~b", "Eve", phone=None, username="@eve")
    for conversation in [
        summarize(META, [msg("1", 0), msg("2", 1.5, OUT, text="ok")]),
        summarize(ConversationMeta(conversation_id("x~y", odd.id), "x~y", odd,
                                   ConversationStatus.RESOLVED, at(9)), []),
    ]:
        row = orjson.loads(orjson.dumps(conversation_to_row(conversation)))
        assert conversation_from_row(row) == conversation


def test_message_codec_round_trip():
    m = Message("wamid.1", CID, OUT, "image", at(1.000001), MessageStatus.FAILED, "cap",
                media=Media("image", "image/jpeg", "cap", None, 123, "mid", "sha"),
                location=Location(52.37, 4.89, "Dam", "Amsterdam"), contacts=("A +1", "B"),
                reply_to="wamid.0", reaction_to=None, template="t (en)", error_code=131026,
                error_text="Undeliverable.", wamid="wamid.1", status_at=at(2), agent="ana")
    assert message_from_doc(orjson.loads(orjson.dumps(message_to_doc(m))), CID) == m


def test_store_is_usable_as_context_manager_and_reads_need_no_open_shard(data_dir: Path):
    with TinyStore(data_dir) as store:
        store.apply(inbound("wamid.1", 0))
        store.flush()  # shards are written lazily: now it is in its file
        store._shards.clear()
        store._transcripts.clear()
        assert [m.id for m in store.messages(CID)] == ["wamid.1"]
        assert store.messages("nobody~0") == []
        assert store.conversation("nobody~0") is None
        assert not store.is_empty()


def test_reads_from_another_thread_while_writing(store: TinyStore):
    import threading

    store.apply(inbound("wamid.0", 0))
    done = threading.Event()
    errors: list[BaseException] = []
    seen: list[int] = []

    def reader():
        try:
            while not done.is_set():
                counts = [c.message_count for c in store.conversations()]
                seen.append(sum(counts))
                assert len(store.messages(CID)) >= 1
                store.conversation(CID)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(1, 40):
            store.apply(inbound(f"wamid.{i}", i, customer=Customer(str(1000 + i % 7), "C")))
    finally:
        done.set()
        thread.join()
    assert not errors
    assert seen == sorted(seen)  # the writer only adds: a reader never sees the index go back
    assert sum(c.message_count for c in store.conversations()) == 40


def test_a_stand_in_name_does_not_replace_the_customers_name(tmp_path):
    """System messages come without a profile: the parser names the customer by number."""
    from desk.models import Customer, MessageReceived

    store = TinyStore(tmp_path)
    store.open()
    try:
        real = Customer("16505551234", "Sheena Nelson", "+16505551234")
        stand_in = Customer("16505551234", "+16505551234", "+16505551234")
        cid = f"pn~{real.id}"
        for i, who in enumerate((real, stand_in)):
            message = Message(f"wamid.{i}", cid, Direction.INBOUND, "text", at(i), MessageStatus.RECEIVED, "hi")
            store.apply(MessageReceived("pn", who, message))
        assert store.conversation(cid).customer.name == "Sheena Nelson"
    finally:
        store.close()
