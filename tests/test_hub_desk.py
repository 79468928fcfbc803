"""The desk's store and backend in hub mode (backends/hub) against a real hub: the lead's API app
over an embedded store, on loopback (tests/hub_desk_helpers.py). Two agents' mirrors follow one
hub live; a dropped connection catches up with exactly the missed changes, in order; a revoked
token is refused on the next request, in the hub's sentence; departments bound what an agent
reads; a send goes once under its key and its outcome comes back through the mirror."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.base import Link, Said
from backends.errors import NotSent
from backends.hub.backend import HubBackend
from backends.hub.client import Forbidden, HubClient, Revoked
from backends.hub.store import HubStore, offline_sentence
from desk.clock import FrozenClock
from desk.models import Direction, MessageStatus
from desk.store.contract import Change, ChangeKind
from desk.window import window
from engine.context import DeskContext
from tests.conftest import make_context
from tests.hub_desk_helpers import HubThread, desk_store, token_of, until


@pytest.fixture
def hub(data_dir: Path, clock: FrozenClock) -> Iterator[HubThread]:
    context = make_context(data_dir, clock)
    running = HubThread(context).start()
    yield running
    running.stop()
    context.store.close()


@pytest.fixture
def ana(hub: HubThread, clock: FrozenClock) -> Iterator[HubStore]:
    store = desk_store(hub, "ana", clock)
    yield store
    store.close()


@pytest.fixture
def bob(hub: HubThread, clock: FrozenClock) -> Iterator[HubStore]:
    store = desk_store(hub, "bob", clock)
    yield store
    store.close()


def open_conversation_id(context: DeskContext) -> str:
    now = context.clock.now()
    return next(c.id for c in sorted(context.store.conversations(), key=lambda c: c.id) if window(c.last_inbound_at, now).open)


def test_the_mirror_holds_what_the_hub_holds(hub: HubThread, ana: HubStore) -> None:
    assert sorted(ana.conversations(), key=lambda c: c.id) == sorted(hub.context.store.conversations(), key=lambda c: c.id)
    cid = open_conversation_id(hub.context)
    assert ana.messages(cid) == [] or ana.messages(cid) == hub.context.store.messages(cid)  # fetched in the background
    until(lambda: ana.messages(cid) == hub.context.store.messages(cid), what="the transcript fetched")
    assert ana.link.link is Link.ONLINE


def test_one_agents_note_and_assignment_appear_live_in_the_others_mirror(hub: HubThread, ana: HubStore, bob: HubStore) -> None:
    cid = open_conversation_id(hub.context)
    note = ana.add_note(cid, "Refund approved, tell her today")
    assert note.agent == "ana" and note.type == "note"
    assert ana.messages(cid)[-1].id == note.id  # her own write, at once
    until(lambda: any(m.id == note.id for m in bob.messages(cid)), what="ana's note in bob's mirror")
    ana.assign(cid, "ana")
    until(lambda: (c := bob.conversation(cid)) is not None and c.assignee == "ana", what="the assignment in bob's mirror")
    audit = [(e.agent, e.action) for e in bob.audit(cid)]
    assert ("ana", "note") in audit and ("ana", "assigned") in audit


def test_one_agents_reply_reaches_the_others_mirror_with_its_outcome(hub: HubThread, ana: HubStore, bob: HubStore) -> None:
    cid = open_conversation_id(hub.context)
    conversation = ana.conversation(cid)
    assert conversation is not None
    backend = HubBackend(ana.client, ana)

    async def send() -> object:
        return await backend.send_text(conversation.business_number_id, conversation.customer, "On its way", key="local.reply-0001")

    sent = asyncio.run(send())
    assert sent.wamid.startswith("wamid.")  # the hub's sender (its mock) answered
    until(lambda: any(m.id == "local.reply-0001" and m.status is MessageStatus.SENT for m in bob.messages(cid)),
          what="the reply, sent, in bob's mirror")
    (ours,) = [m for m in hub.context.store.messages(cid) if m.id == "local.reply-0001"]
    assert ours.direction is Direction.OUTBOUND and ours.agent == "ana"


def test_the_same_key_again_sends_nothing_more(hub: HubThread, ana: HubStore) -> None:
    cid = open_conversation_id(hub.context)
    for _ in range(3):
        ana.client.reply(cid, "local.same-key-01", "once")
    asyncio.run_coroutine_threadsafe(hub.dispatch.settled(), hub.loop).result(10)
    assert [m.text for m in hub.context.store.messages(cid) if m.id == "local.same-key-01"] == ["once"]


def test_a_dropped_connection_catches_up_with_exactly_the_missed_changes_in_order(
    hub: HubThread, ana: HubStore, bob: HubStore, monkeypatch
) -> None:
    handled: list[int] = []
    told: list[object] = []
    real = bob._handle

    def record(item: object) -> None:
        real(item)  # type: ignore[arg-type]
        # Counted once handled: one whose handling the drop cut short (its conversation not read
        # yet) is asked for again from the one before, and that is no repeat.
        if isinstance(item, Change):
            handled.append(item.seq)

    monkeypatch.setattr(bob, "_handle", record)
    bob.watch(told.append)
    cid = open_conversation_id(hub.context)
    writer = hub.engine.writer
    hub.write(lambda: writer.add_note(cid, "before the drop"))
    until(lambda: len(handled) == 1, what="the first change")
    hub.down()
    until(lambda: bob.link.link is Link.OFFLINE, what="bob offline")
    assert bob.link.sentence == offline_sentence(hub.url)
    missed = [hub.write(lambda i=i: writer.add_note(cid, f"while away {i}")) for i in range(3)]
    hub.up()
    until(lambda: len(handled) >= 4, seconds=20, what=f"the missed changes {handled}")
    assert handled == sorted(set(handled)) and len(handled) == 4, f"each change once, in order: {handled}"
    until(lambda: all(any(m.id == n.id for m in bob.messages(cid)) for n in missed), what="the missed notes")
    assert bob.link.link is Link.ONLINE
    assert any(isinstance(n, Said) and n.sentence.startswith("Back online") for n in told)


def test_a_revoked_token_is_refused_on_the_next_request_in_the_hubs_sentence(hub: HubThread, ana: HubStore) -> None:
    cid = open_conversation_id(hub.context)
    hub.directory.revoked.add("ana")
    with pytest.raises(Revoked) as refused:
        ana.set_priority(cid, __import__("desk.models").models.Priority.HIGH)
    assert "revoked" in refused.value.sentence and "wadesk hub add-agent" in refused.value.sentence
    assert ana.link.link is Link.REFUSED and ana.link.sentence == refused.value.sentence


def test_a_revoked_token_at_start_is_one_sentence(hub: HubThread, clock: FrozenClock) -> None:
    from desk.config import ConfigError

    hub.directory.revoked.add("bob")
    store = HubStore(HubClient(hub.url, token_of("bob")), "bob", clock=clock)
    with pytest.raises(ConfigError, match="revoked"):
        store.open()


def test_an_agent_outside_a_department_cannot_read_it(hub: HubThread, clock: FrozenClock) -> None:
    sam = desk_store(hub, "sam", clock)
    try:
        numbers = {n.id: n.department for n in hub.context.numbers()}
        assert sam.conversations() and {numbers[c.business_number_id] for c in sam.conversations()} == {"Sales"}
        support = next(c.id for c in hub.context.store.conversations() if numbers[c.business_number_id] == "Support")
        with pytest.raises(Forbidden):
            sam.client.conversation(support)
    finally:
        sam.close()


def test_a_send_while_the_hub_is_unreachable_is_refused_not_queued(hub: HubThread, ana: HubStore) -> None:
    cid = open_conversation_id(hub.context)
    conversation = ana.conversation(cid)
    assert conversation is not None
    hub.down()
    backend = HubBackend(ana.client, ana)

    async def send() -> object:
        return await backend.send_text(conversation.business_number_id, conversation.customer, "hello?", key="local.offline-01")

    with pytest.raises(NotSent) as refused:
        asyncio.run(send())
    assert refused.value.sentence == offline_sentence(hub.url)
    hub.up()
    assert not [m for m in hub.context.store.messages(cid) if m.id == "local.offline-01"]


def test_a_resync_reads_everything_again_and_says_so(hub: HubThread, ana: HubStore) -> None:
    told: list[object] = []
    ana.watch(told.append)
    ana._handle(Change(ana._hub_seq, ChangeKind.RESYNC))
    assert any(isinstance(n, Said) and "read again" in n.sentence for n in told)


def test_the_desk_acts_as_the_agent_its_token_is(hub: HubThread, tmp_path: Path, monkeypatch, clock: FrozenClock) -> None:
    """Whatever the config's agent_name and agent_id say: "mine", claims and signatures are the
    hub's name for the token (engine.context.identified)."""
    from desk.config import Config, HubConfig, agent_key
    from engine.context import build, identified

    monkeypatch.setenv("WADESK_HUB_TOKEN", token_of("ana"))
    config = Config(backend="hub", agent_name="Ana María", hub=HubConfig(url=hub.url))
    context = build(config, tmp_path / "desk", clock)
    context.store.open()
    try:
        assert agent_key(identified(context).config) == "ana"
    finally:
        context.store.close()
