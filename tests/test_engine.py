"""The engine under the faces: backends by registry, the store announcing every writer's changes,
and the writer signing the agent's writes."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from backends import registry
from desk.config import ConfigError
from desk.models import Direction, Message, MessageReceived, MessageStatus
from desk.store.contract import ChangeKind
from desk.store.tiny import TinyStore, writing
from engine import Engine
from tests.conftest import NOW, find_conversation, quiet_config, ready
from tui.app import WadeskApp
from tui.cli import main


def test_an_unknown_backend_names_the_known_ones():
    with pytest.raises(ConfigError) as caught:
        registry.entry("carrier-pigeon")
    assert "'carrier-pigeon'" in str(caught.value)
    assert all(name in str(caught.value) for name in ("mock", "cloud"))


def test_an_unknown_backend_in_the_config_stops_the_start_in_a_sentence(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    config = tmp_path / "wadesk.toml"
    config.write_text('backend = "carrier-pigeon"\n')
    assert main(["--config", str(config), "--data-dir", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("wadesk: ") and "mock, cloud" in err and "Traceback" not in err


def test_a_backend_is_one_registry_entry(tmp_path: Path, clock, monkeypatch):
    """The composition root builds whatever the registry names: a new backend needs no other change."""
    from backends.mock import MockBackend
    from engine.context import build

    built: list[str] = []

    def carrier(config, desk_clock, data_dir):
        built.append(str(data_dir))
        return MockBackend(config.mock, desk_clock, state_path=None)

    monkeypatch.setitem(registry.REGISTRY, "carrier-pigeon", registry.Entry("carrier-pigeon", object, carrier))
    import dataclasses

    context = build(dataclasses.replace(quiet_config(), backend="carrier-pigeon"), tmp_path / "d", clock)
    assert built == [str(tmp_path / "d")] and context.clock is clock


def inbound(conversation, wamid: str) -> MessageReceived:
    message = Message(wamid, conversation.id, Direction.INBOUND, "text", NOW + timedelta(minutes=1),
                      MessageStatus.RECEIVED, "written by a second writer")
    return MessageReceived(conversation.business_number_id, conversation.customer, message)


async def test_the_inbox_shows_a_change_another_writer_made(desk):
    """The screens follow the store's changes, not the app's own writes: a message stored by
    someone else (a hub, another process's writer thread) reaches the inbox row."""
    app = WadeskApp(desk, pump_events=False)
    target = desk.store.conversation(find_conversation(desk, lambda c: c.waiting_since is None))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        seen = asyncio.Event()
        following = asyncio.get_running_loop()

        async def wait_for_it() -> None:
            async for change in desk.store.changes(desk.store.last_change()):
                if change.conversation_id == target.id:
                    following.call_soon(seen.set)
                    return

        watcher = asyncio.create_task(wait_for_it())
        await asyncio.sleep(0)
        writer = threading.Thread(target=desk.store.apply, args=(inbound(target, "wamid.elsewhere"),))
        writer.start()
        writer.join()
        await asyncio.wait_for(seen.wait(), 5)
        watcher.cancel()
        await ready(pilot)
        rows = [r for r in app.screen.model.rows if r.conversation.id == target.id]
        assert rows and rows[0].conversation.waiting_since is not None


async def test_the_writer_signs_the_agents_writes_and_not_whatsapps(desk):
    engine = Engine(desk, lambda sentence: None)
    target = desk.store.conversation(find_conversation(desk, lambda c: True))
    after = desk.store.last_change()
    await engine.writer.apply(inbound(target, "wamid.customer"))
    await engine.outbox.queue_text(desk.store.conversation(target.id), "hello")
    engine.close()
    changes = []
    async for change in desk.store.changes(after):
        changes.append(change)
        if len(changes) == 2:
            break
    assert [(c.kind, c.conversation_id, c.agent) for c in changes] == [
        (ChangeKind.CONVERSATION, target.id, None),
        (ChangeKind.CONVERSATION, target.id, desk.config.agent_name),
    ]
    ours = [m for m in desk.store.messages(target.id) if m.text == "hello"]
    assert [m.agent for m in ours] == [desk.config.agent_name]


def test_shards_are_written_lazily_in_turn_over_their_two_copies_before_the_journal_is_emptied(
    tmp_path: Path, clock, monkeypatch
):
    """A write waits on the journal's one sync, not on its conversation's file. The shard flush
    writes every changed shard over its other copy, in place, makes them durable with one sync
    (a new file's directory fsync'd too), all before the journal that could redo them is emptied;
    the copy last written is never the one being overwritten."""
    from desk.store.tiny.files import shard_path, slot_path
    from tests.conftest import make_context

    context = make_context(tmp_path / "data", clock)
    store: TinyStore = context.store  # type: ignore[assignment]
    store.flush()
    target = store.conversation(find_conversation(context, lambda c: True))
    first = shard_path(store.data_dir / "conversations", target.id)
    second = slot_path(first, 1)
    before = first.read_bytes()
    assert not second.exists() and store._index.slot(target.id) == 0
    steps: list[str] = []
    monkeypatch.setattr(writing, "sync_all", lambda paths: steps.append(f"sync {[p.name for p in paths]}"))
    monkeypatch.setattr(writing, "fsync_dir", lambda d: steps.append(f"dir {Path(d).name}"))
    reset = store._journal.reset
    monkeypatch.setattr(store._journal, "reset", lambda: (steps.append("journal reset"), reset()))
    store.apply(inbound(target, "wamid.durable"))
    assert steps == [] and not second.exists()  # durable in the journal only
    assert store.messages(target.id)[-1].id == "wamid.durable"  # and read from memory
    store.flush()
    assert steps == [f"sync {[second.name]}", f"dir {first.parent.name}", "journal reset"]  # a new file
    assert b"wamid.durable" in second.read_bytes() and first.read_bytes() == before
    assert store._index.slot(target.id) == 1

    steps.clear()
    store.apply(inbound(target, "wamid.again"))
    store.flush()
    assert steps == [f"sync {[first.name]}", "journal reset"]  # overwritten in place: no directory to sync
    assert b"wamid.again" in first.read_bytes() and b"wamid.again" not in second.read_bytes()
    assert store._index.slot(target.id) == 0
    store.close()
    reopened = TinyStore(store.data_dir)
    reopened.open()
    assert [m.id for m in reopened.messages(target.id)][-2:] == ["wamid.durable", "wamid.again"]
    reopened.close()


async def test_serve_follows_the_stores_changes_and_logs_their_count(desk, monkeypatch, caplog):
    """`wadesk serve` consumes Store.changes() as the desk does: the admin's log says how many
    changes the store made in each interval (the last step of ingest, webhook -> changes())."""
    import logging

    from tui import serve

    monkeypatch.setattr(serve, "TALLY_SECONDS", 0.0)
    target = desk.store.conversation(find_conversation(desk, lambda c: True))
    with caplog.at_level(logging.INFO, logger="tui.serve"):
        tally = asyncio.create_task(serve._tally(desk))
        await asyncio.sleep(0)  # the tally is waiting for changes
        await asyncio.to_thread(desk.store.apply, inbound(target, "wamid.tallied"))
        for _ in range(100):
            if "change(s)" in caplog.text:
                break
            await asyncio.sleep(0)
        tally.cancel()
    assert "1 change(s) to conversations and templates" in caplog.text
