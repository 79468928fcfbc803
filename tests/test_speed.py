"""`--speed N` runs the whole desk on the mock's simulated clock, N times faster: SLA timers,
windows, the customers' traffic and the stored timestamps move together; a restart continues the
simulated time; the cloud stays on the wall clock."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from backends.mock import MockBackend
from backends.mock.backend import saved_now
from backends.registry import mock_state_path
from desk.clock import FrozenClock, ScaledClock, SystemClock, simulated_clock, tick_seconds
from desk.models import MessageReceived, MessageStatus, StatusChanged
from desk.sla import SlaKind
from desk.window import window
from engine.context import build, desk_clock
from tests.conftest import NOW, quiet_config, ready
from tui.app import WadeskApp
from tui.screens.inbox import InboxScreen

WIDE = (160, 60)
"""One line per conversation and all 48 of them on screen: a row is `render_line(index)`."""


class Elapsed:
    """A ScaledClock's base: real elapsed seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


# --- the clock -------------------------------------------------------------------------------------


def test_a_scaled_clock_runs_rate_times_faster_than_its_base():
    elapsed = Elapsed()
    clock = ScaledClock(NOW, 60.0, elapsed)
    assert clock.now() == NOW
    elapsed.seconds = 600
    assert clock.now() == NOW + timedelta(hours=10)


def test_the_simulated_clock_continues_and_never_goes_back():
    wall = FrozenClock(NOW)
    assert simulated_clock(None, 1.0, wall) is wall  # real speed, nothing saved: the wall clock
    ahead = NOW + timedelta(hours=10)
    assert simulated_clock(ahead, 60.0, wall, Elapsed()).now() == ahead
    # Back at real speed after a fast run: still from the simulated time, not the wall's.
    assert simulated_clock(ahead, 1.0, wall, Elapsed()).now() == ahead
    # The wall clock has since passed the saved time: from the wall clock's.
    assert simulated_clock(NOW - timedelta(days=1), 60.0, wall, Elapsed()).now() == NOW


def test_screens_tick_often_enough_for_a_countdown_to_move():
    assert tick_seconds(SystemClock()) == 1.0
    assert tick_seconds(ScaledClock(NOW, 60.0)) == 1.0  # a simulated minute a second
    assert tick_seconds(ScaledClock(NOW, 600.0)) == 0.1  # at most ten a second


# --- the composition root --------------------------------------------------------------------------


def test_build_gives_one_simulated_clock_to_the_store_the_backend_and_the_app(data_dir):
    desk = build(quiet_config(speed=60.0), data_dir, FrozenClock(NOW), base=Elapsed())
    assert isinstance(desk.clock, ScaledClock) and desk.clock.rate == 60.0
    app = WadeskApp(desk, pump_events=False)
    assert desk.store._clock is desk.clock and desk.backend._clock is desk.clock and app.outbox.clock is desk.clock


def test_build_at_real_speed_uses_the_wall_clock(data_dir):
    wall = FrozenClock(NOW)
    assert build(quiet_config(), data_dir, wall).clock is wall


def test_the_cloud_backend_always_runs_on_the_wall_clock(data_dir):
    wall = FrozenClock(NOW)
    config = dataclasses.replace(quiet_config(speed=60.0), backend="cloud")
    # Even with a mock state file saved ahead by an earlier fast run in the same directory.
    mock_state_path(data_dir).parent.mkdir(parents=True)
    mock_state_path(data_dir).write_text('{"version": 1, "now": "2026-11-24T12:00:00+00:00"}')
    assert desk_clock(config, data_dir, wall, Elapsed()) is wall


async def test_a_restart_continues_the_simulated_time(data_dir):
    wall, elapsed = FrozenClock(NOW), Elapsed()
    first = build(quiet_config(speed=60.0), data_dir, wall, base=elapsed)
    stream = first.backend.events()
    for _ in first.backend.simulation.history():
        await asyncio.wait_for(anext(stream), 1)
    elapsed.seconds += 600
    shown = first.clock.now()
    await first.backend.stop()
    assert saved_now(mock_state_path(data_dir)) == shown == NOW + timedelta(hours=10)

    second = build(quiet_config(speed=60.0), data_dir, wall, base=Elapsed())
    assert second.clock.now() == shown
    # Killed rather than stopped: the state saved while running is ahead of the time shown.
    stream = second.backend.events()
    for _ in second.backend.business_numbers():
        await asyncio.wait_for(anext(stream), 1)
    second.backend.save()
    third = build(quiet_config(speed=60.0), data_dir, wall, base=Elapsed())
    assert third.clock.now() > second.clock.now()


# --- the mock on the simulated clock ---------------------------------------------------------------


async def test_customers_write_and_statuses_come_fast_with_simulated_timestamps():
    # As `build` makes it: the clock at the config's speed, on a real base (~28 hours a second).
    config = quiet_config(inbound_per_minute=2.0, speed=1e5).mock
    backend = MockBackend(config, ScaledClock(NOW, config.speed))
    stream = backend.events()
    for _ in backend.simulation.history():
        await asyncio.wait_for(anext(stream), 1)
    live = await asyncio.wait_for(anext(stream), 2)
    assert isinstance(live, MessageReceived) and live.message.timestamp > NOW
    sent = await backend.send_text(live.business_number_id, live.customer, "Thanks!")
    assert sent.at > NOW + timedelta(minutes=1)
    seen = []
    while not any(isinstance(e, StatusChanged) and e.wamid == sent.wamid and e.status is MessageStatus.READ for e in seen):
        seen.append(await asyncio.wait_for(anext(stream), 2))
    read = next(e for e in seen if isinstance(e, StatusChanged) and e.wamid == sent.wamid and e.status is MessageStatus.READ)
    # The world's own delays (seconds to a minute for a read), in simulated time, not shortened again.
    assert timedelta(seconds=5) <= read.timestamp - sent.at <= timedelta(minutes=3)


def test_the_simulation_leaves_delays_to_a_fast_clock():
    from backends.mock.simulation import Simulation

    config = quiet_config(inbound_per_minute=2.0, speed=60.0).mock
    on_wall = Simulation(config, NOW)  # the emulator: delays shortened 60 times
    on_fast = Simulation(config, NOW, clock_rate=60.0)  # the desk's mock: its clock is the fast one
    assert on_wall.next_due() - NOW < timedelta(seconds=30)
    ratio = (on_fast.next_due() - NOW) / (on_wall.next_due() - NOW)
    assert abs(ratio - 60) < 1e-3


# --- the desk, ten minutes at --speed 60 -----------------------------------------------------------


def _row(inbox: InboxScreen, conversation_id: str) -> str:
    return inbox.list.render_line(inbox.model.index_of(conversation_id)).text


async def test_ten_minutes_at_speed_60_breach_conversations_and_close_windows(data_dir):
    elapsed = Elapsed()
    desk = build(quiet_config(speed=60.0), data_dir, FrozenClock(NOW), base=elapsed)
    desk.store.open()
    try:
        desk.store.apply_many(desk.backend.simulation.history())
        app = WadeskApp(desk, pump_events=False)
        async with app.run_test(size=WIDE) as pilot:
            await ready(pilot)
            inbox = pilot.app.screen
            assert isinstance(inbox, InboxScreen) and inbox.list.row_height == 1
            rows = inbox.list.rows
            due = next(r.conversation.id for r in rows if r.sla(NOW).kind in (SlaKind.OK, SlaKind.DUE_SOON))
            closing = next(r.conversation.id for r in rows if r.window(NOW).open and r.window(NOW).closing_soon)
            assert "breached" not in _row(inbox, due) and "closing" in _row(inbox, closing)

            elapsed.seconds += 600  # ten real minutes: ten simulated hours
            inbox._tick()  # what the screen's timer does
            await pilot.pause()
            assert "✖ breached" in _row(inbox, due), _row(inbox, due)
            assert "■ closed" in _row(inbox, closing), _row(inbox, closing)
            later = NOW + timedelta(hours=10)
            assert not window(desk.store.conversation(closing).last_inbound_at, later).open

            # What the agent sends now is stored at the simulated time.
            conv = desk.store.conversation(due)
            await pilot.app.send_text(conv, "sorry for the wait")
            await ready(pilot)
            assert desk.store.messages(due)[-1].timestamp == later
    finally:
        desk.store.close()


async def test_the_screens_timers_follow_the_clock(data_dir):
    from tui.screens.conversation import ConversationScreen

    desk = build(quiet_config(speed=600.0), data_dir, FrozenClock(NOW), base=Elapsed())
    desk.store.open()
    try:
        desk.store.apply_many(desk.backend.simulation.history())
        async with WadeskApp(desk, pump_events=False).run_test(size=(80, 24)) as pilot:
            await ready(pilot)
            # Ten simulated minutes a second: a countdown's minutes move ten times a second.
            assert 0.1 in {timer._interval for timer in pilot.app.screen._timers}
            await pilot.press("enter")
            await ready(pilot)
            assert isinstance(pilot.app.screen, ConversationScreen)
            assert 0.1 in {timer._interval for timer in pilot.app.screen._timers}
    finally:
        desk.store.close()
