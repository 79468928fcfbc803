"""Alerts and SLA clocks in the desk and in `wadesk serve`, with a frozen clock: each alert once at
its crossing (a notification, the bell, the command), whatever screen is shown; the row stands out
until the conversation is handled; resolving stops the clocks; the command's failures told."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from desk.config import AlertsConfig, Config, SlaConfig
from desk.models import ConversationStatus, Customer, Direction, Message, MessageReceived, MessageStatus
from desk.sla import SlaKind, sla_state
from engine.alerts import Alerts
from tests.conftest import NOW, make_context, quiet_config, ready
from tests.test_flows import open_conversation
from tui.app import WadeskApp
from tui.widgets.inbox_list import InboxList
from tui.widgets.sla_panel import SlaPanel

SIZE = (80, 24)
M = timedelta(minutes=1)

# Appends one JSON line per run: what the command was given.
RECORD = (
    "import json, os, sys\n"
    "keys = ['WADESK_ALERT_KIND', 'WADESK_CONVERSATION', 'WADESK_CUSTOMER', 'WADESK_DUE', 'WHATSAPP_ACCESS_TOKEN']\n"
    "with open(sys.argv[1], 'a', encoding='utf-8') as f:\n"
    "    f.write(json.dumps({k: os.environ.get(k) for k in keys}) + '\\n')\n"
)


def recorder(out: Path) -> tuple[str, ...]:
    return (sys.executable, "-c", RECORD, str(out))


def alerting(command: tuple[str, ...] = (), bell: bool = True, sla: SlaConfig | None = None) -> Config:
    config = quiet_config()
    return dataclasses.replace(config, alerts=AlertsConfig(bell=bell, command=command), sla=sla or config.sla)


def runs(out: Path) -> list[dict[str, str | None]]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] if out.exists() else []


def new_customer(desk, name: str = "Zoë New", text: str = "Is my order on its way?") -> MessageReceived:
    number = desk.numbers()[0].id
    customer = Customer("15550009999", name, phone="+1 555 000 9999")
    cid = f"{number}~{customer.id}"
    return MessageReceived(number, customer, Message("wamid.alert1", cid, Direction.INBOUND, "text", desk.clock.now(),
                                                     MessageStatus.RECEIVED, text=text))


def notes(app: WadeskApp) -> list[tuple[str, str]]:
    return [(n.title, n.message) for n in app._notifications]


@pytest.fixture
def bells(monkeypatch) -> list[int]:
    rung: list[int] = []
    monkeypatch.setattr(WadeskApp, "bell", lambda self: rung.append(1))
    return rung


async def test_each_alert_fires_once_at_its_crossing_and_runs_the_command(data_dir, clock, tmp_path, bells, monkeypatch):
    monkeypatch.setenv("WHATSAPP_ACCESS_TOKEN", "s3cret")  # the desk reads it; the command never gets it
    out = tmp_path / "alerts.jsonl"
    desk = make_context(data_dir, clock, history=False, config=alerting(recorder(out)))
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        # Through the mock, so that it knows the window is open when we answer.
        person = desk.backend.simulation.people[0]
        name = person.customer.name
        event = desk.backend.simulation.customer_writes(desk.numbers()[0].id, person.id, clock.now())
        cid = await app.ingest(event)
        await ready(pilot)
        # Another screen shown: alerts are the app's, not the inbox's.
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert runs(out) == [] and bells == []

        clock.advance(44 * M)
        app.check_alerts()
        await ready(pilot)
        assert runs(out) == []
        clock.advance(1 * M)  # 45 minutes: 15 left of the hour, the warning threshold
        app.check_alerts()
        await ready(pilot)
        clock.advance(1 * M)
        app.check_alerts()
        await ready(pilot)
        assert [r["WADESK_ALERT_KIND"] for r in runs(out)] == ["due_soon"]
        first = runs(out)[0]
        assert first["WADESK_CONVERSATION"] == cid and first["WADESK_CUSTOMER"] == name
        assert first["WADESK_DUE"] == (NOW + 60 * M).isoformat() and first["WHATSAPP_ACCESS_TOKEN"] is None
        assert (name, "First response due soon (due 13:00).") in notes(app) and len(bells) == 1
        assert app.screen is help_screen

        clock.advance(14 * M)  # 13:00: breached
        app.check_alerts()
        await ready(pilot)
        app.check_alerts()
        await ready(pilot)
        assert [r["WADESK_ALERT_KIND"] for r in runs(out)] == ["due_soon", "breached"] and len(bells) == 2
        assert (name, "First response breached (was due 13:00).") in notes(app)

        # The row stands out in the inbox until the conversation is handled.
        await pilot.press("escape")
        await ready(pilot)
        inbox_list = app.screen.query_one(InboxList)
        assert _row_text(inbox_list, cid).startswith(("▸!", " !"))
        await open_conversation(pilot, cid)
        await pilot.press(*"It left this morning", "enter")
        await ready(pilot)
        await pilot.press("escape")
        await ready(pilot)
        assert desk.store.conversation(cid).waiting_since is None
        assert not _row_text(app.screen.query_one(InboxList), cid)[1:2].strip()
        clock.advance(5 * 60 * M)  # the wait and the window would have crossed: answered, nothing
        app.check_alerts()
        await ready(pilot)
        assert len(runs(out)) == 2 and len(bells) == 2


def _row_text(inbox_list: InboxList, conversation_id: str) -> str:
    index = next(i for i, r in enumerate(inbox_list.rows) if r.conversation.id == conversation_id)
    row = inbox_list.rows[index]
    return "".join(s.text for s in inbox_list._segments(row, 0, 80, 2))


async def test_the_bell_can_be_off_and_a_change_checks_at_once(data_dir, clock, bells):
    desk = make_context(data_dir, clock, history=False, config=alerting(bell=False))
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        clock.advance(-2 * 60 * M)  # the customer wrote two hours ago; the webhook comes now
        event = new_customer(desk)
        clock.advance(2 * 60 * M)
        await app.ingest(event)
        await ready(pilot)  # no timer tick: the change itself was checked
        titles = [t for t, m in notes(app) if "breached" in m]
        assert titles == ["Zoë New"] and bells == []


async def test_a_hostile_name_reaches_the_command_neutralised(data_dir, clock, tmp_path, bells):
    out = tmp_path / "alerts.jsonl"
    desk = make_context(data_dir, clock, history=False, config=alerting(recorder(out)))
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await app.ingest(new_customer(desk, name="[b]Eve\x1b]0;pwned\x07\u202e"))
        await ready(pilot)
        clock.advance(46 * M)
        app.check_alerts()
        await ready(pilot)
        customer = runs(out)[0]["WADESK_CUSTOMER"]
        assert customer == "[b]Eve␛]0;pwned␇<U+202E>"
        assert ("[b]Eve␛]0;pwned␇<U+202E>", "First response due soon (due 13:00).") in notes(app)


@pytest.mark.parametrize(
    "command, sentence",
    [
        pytest.param(("/nonexistent/notifier", "x"), "The alert command /nonexistent/notifier was not found; check [alerts] command.",
                     id="missing-program"),
        pytest.param((sys.executable, "-c", "raise SystemExit(3)"), f"The alert command {sys.executable} failed (exit status 3).",
                     id="non-zero-exit"),
    ],
)
async def test_the_commands_failure_reaches_the_agent_in_one_sentence(data_dir, clock, bells, command, sentence):
    desk = make_context(data_dir, clock, history=False, config=alerting(command))
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        await app.ingest(new_customer(desk))
        await ready(pilot)
        clock.advance(46 * M)
        app.check_alerts()
        await ready(pilot)
        assert ("Alert command", sentence) in notes(app)
        assert app.is_running


async def test_resolving_stops_the_clocks_and_keeps_the_resolution_time(data_dir, clock, tmp_path, bells):
    out = tmp_path / "alerts.jsonl"
    desk = make_context(data_dir, clock, history=False, config=alerting(recorder(out), sla=SlaConfig(resolution_minutes=120)))
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        cid = await app.ingest(new_customer(desk))
        clock.advance(30 * M)
        screen = await open_conversation(pilot, cid)
        panel = str(screen.query_one(SlaPanel).render())
        assert "first response due 13:00 (✓ ok 30m)" in panel and "resolution due 14:00 (✓ ok 1h30m)" in panel
        await pilot.press("ctrl+o")
        await ready(pilot)
        conv = desk.store.conversation(cid)
        assert conv.status is ConversationStatus.RESOLVED
        assert sla_state(conv, desk.policy(conv.business_number_id), clock.now()).kind is SlaKind.NONE
        screen._tick()
        assert "✔ resolved in 30m of business time" in str(screen.query_one(SlaPanel).render())
        clock.advance(3 * 60 * M)  # past every due time: nothing runs, nothing is told
        app.check_alerts()
        await ready(pilot)
        assert runs(out) == [] and bells == []
        assert sla_state(desk.store.conversation(cid), desk.policy(conv.business_number_id), clock.now()).kind is SlaKind.NONE
        screen._tick()
        assert "✔ resolved in 30m of business time" in str(screen.query_one(SlaPanel).render())


async def test_serve_runs_the_same_command_with_no_desk_open(data_dir, clock, tmp_path):
    from tui import serve

    out = tmp_path / "alerts.jsonl"
    desk = make_context(data_dir, clock, history=False, config=alerting(recorder(out)))
    task = asyncio.create_task(serve._alerts(desk, every=0.01))
    try:
        # Whether the watch has read the store yet or not, the crossings are ahead.
        cid = await asyncio.to_thread(desk.store.apply, new_customer(desk))
        clock.advance(61 * M)
        for _ in range(1000):  # each command is a process of its own: give them real time
            if len(runs(out)) >= 2:
                break
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        desk.store.close()
    # (Run at once when the change reached the watch after the clock moved: in either order.)
    assert sorted((r["WADESK_ALERT_KIND"], r["WADESK_CONVERSATION"]) for r in runs(out)) == [("breached", cid), ("due_soon", cid)]


async def test_the_command_runs_off_the_loop_and_is_stopped_when_it_hangs(tmp_path):
    from desk.alerts import Alert, AlertKind
    from engine.alerts import AlertCommand

    command = AlertCommand((sys.executable, "-c", "import time; time.sleep(30)"), timeout=0.5)
    alert = Alert(AlertKind.BREACHED, "b~c", "Ana", "first response", NOW)
    ticks = 0

    async def count() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    counter = asyncio.create_task(count())
    failure = await command.run(alert)
    counter.cancel()
    assert failure == f"The alert command {sys.executable} did not finish within 0.5 s and was stopped."
    assert ticks > 10  # the loop went on while the command ran


def test_alerts_before_start_wait_for_the_watch(desk):
    alerts = Alerts(desk)
    alerts.changed(["x"])
    assert alerts.due() == [] and not alerts.alerted("x")


async def test_a_burst_of_alerts_shows_a_few_then_one_that_says_there_are_more(data_dir, clock, bells):
    """The demo's first start, a backlog of late webhooks: seven customers each cross two lines
    (due soon, breached) as they come; three alerts are told by name, one notification says there
    are more, every row is marked, and the bell rings with the checks that said something."""
    desk = make_context(data_dir, clock, history=False, config=alerting())
    app = WadeskApp(desk, pump_events=False)
    async with app.run_test(size=SIZE) as pilot:
        await ready(pilot)
        clock.advance(-2 * 60 * M)  # they wrote two hours ago; the webhooks come now
        events = []
        for n in range(7):
            event = new_customer(desk, name=f"Customer {n}")
            customer = dataclasses.replace(event.customer, id=f"1555000{n:04d}")
            cid = f"{event.business_number_id}~{customer.id}"
            message = dataclasses.replace(event.message, id=f"wamid.burst{n}", conversation_id=cid)
            events.append(dataclasses.replace(event, customer=customer, message=message))
        clock.advance(2 * 60 * M)
        for event in events:
            await app.ingest(event)
        await ready(pilot)
        named = [t for t, _ in notes(app) if t.startswith("Customer")]
        assert len(named) == 3 and [t for t, _ in notes(app)].count("More alerts") == 1
        assert all(app.alerts.alerted(e.message.conversation_id) for e in events)
        assert len(bells) == 2  # the first customer's check, the second's: not once per alert
