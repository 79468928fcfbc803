"""How the conversation's team line looks in team mode (backend "hub"), at 80x24 and 120x40, with
the clock frozen: another agent viewing, another agent typing while this one types too (the
collision warning), and the desk offline. First, the rule that makes them the same from run to run:
the transcript, fetched from the hub after the screen opened, draws its message cursor as the focus
is, whenever it arrives.

A real hub (tests/hub_desk_helpers.py) serves the desk, here on a Unix socket: the offline line
names the hub's URL, which on loopback TCP would carry a port that changes from run to run; over
the socket the desk's URL is a fixed name. Each snapshot waits for its state (the transcript
fetched into the mirror, the line's words, the draft saved, the presence told) by polling the
Pilot until it holds, never by sleeping a guessed time.

Update after an intended change with `pytest tests/test_snapshots_team.py --snapshot-update`,
then look at the SVGs in tests/__snapshots__/ before committing them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from backends.hub.backend import HubBackend
from backends.hub.client import HubClient
from backends.hub.store import HubStore, offline_sentence
from desk.clock import FrozenClock
from desk.config import Config
from engine.context import DeskContext
from hub.api import api_app
from tests.conftest import find_conversation, make_context
from tests.hub_desk_helpers import HubThread, token_of
from tests.test_flows import open_conversation
from tests.test_hub_desk import open_conversation_id
from tests.test_hub_desk_tui import line, until
from tests.test_snapshots import SIZES, is_open
from tui.app import WadeskApp
from tui.messages import ConversationsChanged
from tui.widgets.transcript import CURSOR, Transcript

URL = "http://hub.example:8470"
"""The hub's URL as the desk is configured with it (the requests go over the socket)."""
DRAFT = "Your parcel left our warehouse"


class SocketHub(HubThread):
    """The test hub, listening on a Unix socket instead of a loopback port."""

    def __init__(self, context: DeskContext, socket: Path) -> None:
        super().__init__(context)
        self.socket = socket

    async def _listen(self) -> None:
        root = web.Application()
        root.add_subapp("/api/v1", api_app(self.services))
        self._runner = web.AppRunner(root, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        await web.UnixSite(self._runner, str(self.socket)).start()

    @property
    def url(self) -> str:
        return URL

    def client(self, agent: str) -> HubClient:
        return HubClient(
            URL, token_of(agent), idle_seconds=5.0,
            transport=httpx.HTTPTransport(uds=str(self.socket)),
            async_transport=httpx.AsyncHTTPTransport(uds=str(self.socket)),
        )


@pytest.fixture
def hub(data_dir: Path, clock: FrozenClock) -> Iterator[SocketHub]:
    context = make_context(data_dir, clock)
    with tempfile.TemporaryDirectory(prefix="wadesk-hub-") as short:  # a socket's path has ~100 bytes at most
        running = SocketHub(context, Path(short) / "hub.sock").start()
        yield running
        running.stop()
    context.store.close()


@pytest.fixture
def ana_app(hub: SocketHub, clock: FrozenClock, tmp_path: Path) -> Iterator[WadeskApp]:
    """Ana's desk in team mode, following the hub."""
    client = hub.client("ana")
    store = HubStore(client, "ana", clock=clock, numbers=client.numbers)
    store.open()
    context = DeskContext(Config(backend="hub", agent_name="ana"), store, HubBackend(client, store), clock, tmp_path / "ana")
    yield WadeskApp(context, pump_events=False)
    store.close()


async def open_fetched(pilot, hub: SocketHub) -> str:
    """Open the first conversation whose window is open and wait until its transcript, fetched
    from the hub after the screen opened, is shown and the composer has the focus."""
    app = pilot.app
    cid = open_conversation_id(hub.context)
    expected = hub.context.store.messages(cid)
    app.open_conversation(cid)

    def shown() -> bool:
        transcript = app.screen.query(Transcript)
        return (
            getattr(app.screen, "conversation_id", None) == cid
            and bool(transcript) and transcript.first().messages == expected
            and app.focused is app.screen.composer
        )

    await until(pilot, shown, "the transcript fetched and the composer focused")
    return cid


async def settled(pilot, expected_line: str) -> None:
    """Wait until the team line says `expected_line`, and for the screen's own work (the draft's
    save, this agent's presence) to be done."""
    app = pilot.app
    await until(pilot, lambda: line(app) == expected_line, f"the team line {expected_line!r}")
    screen = app.screen
    await until(pilot, lambda: screen._draft_saved == screen._draft_pending and not screen._draft_saving, "the draft saved")
    own = [w for w in app.workers if w.group in ("presence", "draft")]
    if own:  # none given would wait for every worker, the endless ones too
        await app.workers.wait_for_complete(own)
    await pilot.pause()


async def test_the_cursor_is_drawn_exactly_while_the_transcript_has_the_focus(app, desk) -> None:
    """A transcript shown while it has the focus (in team mode: arriving while the screen's
    auto-focus still gives it the focus, before the composer takes it) loses its cursor with the
    focus; one given the focus shows it on the newest message at once."""
    target = find_conversation(desk, is_open)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_conversation(pilot, target)
        transcript = screen.transcript
        assert CURSOR not in transcript.shown_text, "typing: nothing marked"
        transcript.focus()
        await pilot.pause()
        assert transcript.shown_text.count(CURSOR) == 1 and transcript.cursor == desk.store.messages(target)[-1]
        screen.post_message(ConversationsChanged(frozenset({target})))  # the transcript shown again, focused
        await pilot.pause()
        screen.composer.focus()
        await pilot.pause()
        assert CURSOR not in transcript.shown_text, "the focus went back to the composer: nothing marked"


@pytest.mark.parametrize("size", SIZES)
def test_team_line_another_agent_viewing(snap_compare, hub, ana_app, size):
    async def run_before(pilot) -> None:
        cid = await open_fetched(pilot, hub)
        with hub.client("bob") as bob:
            bob.presence(cid, "viewing")
        await settled(pilot, "bob is viewing")

    assert snap_compare(ana_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_team_line_two_agents_typing(snap_compare, hub, ana_app, size):
    async def run_before(pilot) -> None:
        cid = await open_fetched(pilot, hub)
        await pilot.press(*DRAFT)
        with hub.client("bob") as bob:
            bob.presence(cid, "typing")
        await settled(pilot, "bob is typing… — careful: two answers to one customer")

    assert snap_compare(ana_app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_team_line_offline(snap_compare, hub, ana_app, size):
    async def run_before(pilot) -> None:
        await open_fetched(pilot, hub)
        hub.down()
        await settled(pilot, offline_sentence(URL))

    assert snap_compare(ana_app, terminal_size=size, run_before=run_before)
