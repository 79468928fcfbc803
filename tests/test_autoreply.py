"""Greeting and away messages, sent by the engine (the desk and `wadesk serve` alike) on the mock
with a frozen clock, judged by what reached the backend: at most once an episode, never outside
the window, not after an agent has written, not twice after a duplicate webhook or a restart."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from backends.errors import error_for
from desk.clock import FrozenClock
from desk.config import BusinessHoursConfig, NumberConfig, SlaConfig
from desk.models import ConversationStatus, Direction, MessageReceived, MessageStatus
from desk.store.audit import SENT
from engine import Engine
from engine.context import DeskContext
from engine.outbox import WINDOW_CLOSED
from tests.conftest import NOW, make_context, quiet_config

SALES, SUPPORT = "100000000000001", "100000000000002"
GREETING = "Hi {{first_name}}, thanks for writing to {{department}}! {{agent}} will answer soon."
AWAY = "We are closed now; we answer from 09:00, {{first_name}}."
WEEKDAYS_9_TO_5 = SlaConfig(business_hours=BusinessHoursConfig(days=("mon", "tue", "wed", "thu", "fri"), start="09:00", end="17:00"))
EVENING = NOW.replace(hour=20)
"""Monday 20:00 UTC: outside the Sales number's hours (NOW, 12:00, is inside)."""


def config(greeting: str = GREETING, away: str = AWAY):
    numbers = (
        NumberConfig(SALES, "+1 555-0100", "Sales", sla=WEEKDAYS_9_TO_5, greeting=greeting, away=away),
        NumberConfig(SUPPORT, "+1 555-0199", "Support"),  # both off
    )
    return dataclasses.replace(quiet_config(numbers=numbers), agent_name="Sam")


@pytest.fixture
def desk(data_dir: Path, clock: FrozenClock) -> Iterator[DeskContext]:
    context = make_context(data_dir, clock, config(), history=False)
    yield context
    context.store.close()


@pytest.fixture
def sends(desk: DeskContext, monkeypatch) -> list[tuple[str, str, str]]:
    """Every text the backend was asked to send: (number, customer id, text)."""
    asked: list[tuple[str, str, str]] = []
    real = desk.backend.send_text

    async def send_text(number, customer, text, reply_to=None, **_):
        asked.append((number, customer.id, text))
        return await real(number, customer, text, reply_to, **_)

    monkeypatch.setattr(desk.backend, "send_text", send_text)
    return asked


def person(desk: DeskContext, index: int = 0):
    """A customer with a name of their own (not only a number)."""
    named = [p for p in desk.backend.simulation.people if p.customer.phone and " " in p.customer.name]
    return named[index]


def writes(desk: DeskContext, who, number: str = SALES, kind: str = "text") -> MessageReceived:
    return desk.backend.simulation.customer_writes(number, who.id, desk.clock.now(), kind)


async def arrive(engine: Engine, event: MessageReceived) -> None:
    await engine.pump.apply(event)
    await engine.autoreplier.settled()


def first_name(who) -> str:
    return who.customer.name.split(" ")[0]


async def test_the_first_message_gets_the_greeting_once_filled_in_and_marked_automatic(desk, sends):
    engine = Engine(desk, print)
    ana = person(desk)
    first = writes(desk, ana)
    await arrive(engine, first)
    assert sends == [(SALES, ana.id, f"Hi {first_name(ana)}, thanks for writing to Sales! Sam will answer soon.")]
    desk.clock.advance(timedelta(minutes=1))
    await arrive(engine, writes(desk, ana))
    await arrive(engine, first)  # the first again: a duplicate webhook
    assert len(sends) == 1
    conv = desk.store.conversation(first.message.conversation_id)
    greeting = [m for m in desk.store.messages(conv.id) if m.direction is Direction.OUTBOUND]
    assert [(m.type, m.agent, m.status) for m in greeting] == [("greeting", None, MessageStatus.SENT)]
    # Automatic: no agent answered, so the first-response clock runs on and nothing reads as seen.
    assert conv.waiting_since == first.message.timestamp and conv.first_reply_at is None and conv.unread == 2
    assert [(e.action, e.agent) for e in desk.store.audit(conv.id) if e.action == SENT] == [(SENT, None)]
    engine.close()


async def test_a_restart_finds_the_greeting_in_the_transcript_and_sends_no_second(desk, sends):
    engine = Engine(desk, print)
    ana = person(desk)
    await arrive(engine, writes(desk, ana))
    engine.close()
    desk.clock.advance(timedelta(minutes=2))
    again = Engine(desk, print)  # a new engine remembers nothing
    await arrive(again, writes(desk, ana))
    assert len(sends) == 1
    again.close()


async def test_a_new_episode_after_resolving_is_greeted_again(desk, sends):
    engine = Engine(desk, print)
    ana = person(desk)
    first = writes(desk, ana)
    await arrive(engine, first)
    await engine.outbox.deliver(*await _queued_reply(engine, first, "Here you are."))
    await engine.writer.set_status(first.message.conversation_id, ConversationStatus.RESOLVED)
    desk.clock.advance(timedelta(hours=1))
    await arrive(engine, writes(desk, ana))
    assert [text for _, _, text in sends] == [sends[0][2], "Here you are.", sends[0][2]]
    engine.close()


async def _queued_reply(engine: Engine, event: MessageReceived, text: str):
    conv = engine.context.store.conversation(event.message.conversation_id)
    return conv, await engine.outbox.queue_text(conv, text)


async def test_outside_business_hours_the_away_message_goes_once_after_the_greeting(desk, sends):
    desk.clock.set(EVENING)
    engine = Engine(desk, print)
    ana = person(desk)
    await arrive(engine, writes(desk, ana))
    name = first_name(ana)
    assert [text for _, _, text in sends] == [
        f"Hi {name}, thanks for writing to Sales! Sam will answer soon.",
        f"We are closed now; we answer from 09:00, {name}.",
    ]
    desk.clock.advance(timedelta(minutes=5))
    await arrive(engine, writes(desk, ana))
    engine.close()
    again = Engine(desk, print)
    desk.clock.advance(timedelta(minutes=5))
    await arrive(again, writes(desk, ana))
    assert len(sends) == 2
    again.close()


async def test_inside_business_hours_there_is_no_away_message(desk, sends):
    engine = Engine(desk, print)
    await arrive(engine, writes(desk, person(desk)))
    assert [text for _, _, text in sends] == [sends[0][2]] and sends[0][2].startswith("Hi ")
    engine.close()


async def test_once_an_agent_has_written_nothing_goes_by_itself(data_dir, clock, sends, desk):
    engine = Engine(desk, print)
    ana = person(desk)
    first = writes(desk, ana)
    await arrive(engine, first)
    await engine.outbox.deliver(*await _queued_reply(engine, first, "On it."))
    desk.clock.set(EVENING)  # closed now, but a person is answering
    await arrive(engine, writes(desk, ana))
    assert [text for _, _, text in sends][1:] == ["On it."]
    engine.close()


async def test_a_greeting_queued_before_the_window_closed_is_never_sent_after(desk, sends):
    """Queued, then the desk stops before it leaves; a day later the outbox resumes it: the window
    is checked at send time, and the greeting fails with a sentence without reaching WhatsApp."""
    held = []
    engine = Engine(desk, print, deliver=lambda conv, message: held.append((conv, message)))
    await arrive(engine, writes(desk, person(desk)))
    assert len(held) == 1 and sends == []
    desk.clock.advance(timedelta(hours=25))
    (conv, message, choice), = await engine.outbox.resumable()
    result = await engine.outbox.deliver(conv, message, choice)
    assert (result.status, result.error_text) == (MessageStatus.FAILED, WINDOW_CLOSED)
    assert sends == []
    engine.close()


async def test_a_message_that_arrives_long_after_it_was_written_is_not_answered(desk, sends):
    engine = Engine(desk, print)
    late = writes(desk, person(desk))
    desk.clock.advance(timedelta(minutes=16))  # a webhook Meta kept retrying
    await arrive(engine, late)
    assert sends == []
    engine.close()


async def test_a_reaction_asks_for_nothing(desk, sends):
    engine = Engine(desk, print)
    ana = person(desk)
    await arrive(engine, writes(desk, ana, kind="reaction"))
    assert sends == []
    engine.close()


async def test_off_sends_nothing(data_dir, clock, monkeypatch):
    desk = make_context(data_dir, clock, config(greeting="", away=""), history=False)
    try:
        engine = Engine(desk, print)
        clock.set(EVENING)
        asked = []
        monkeypatch.setattr(desk.backend, "send_text", lambda *a, **k: asked.append(a))
        await arrive(engine, writes(desk, person(desk)))
        await arrive(engine, writes(desk, person(desk, 1), number=SUPPORT))
        assert asked == []
        engine.close()
    finally:
        desk.store.close()


async def test_a_refused_greeting_is_shown_as_any_failed_send(desk, monkeypatch):
    async def refuse(*args, **kwargs):
        raise error_for(131026)

    monkeypatch.setattr(desk.backend, "send_text", refuse)
    engine = Engine(desk, print)
    event = writes(desk, person(desk))
    await arrive(engine, event)
    conv = desk.store.conversation(event.message.conversation_id)
    (greeting,) = [m for m in desk.store.messages(conv.id) if m.type == "greeting"]
    assert greeting.status is MessageStatus.FAILED and greeting.error_code == 131026
    assert conv.undelivered
    engine.close()
