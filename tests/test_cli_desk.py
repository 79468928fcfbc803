"""The CLI through a running desk: the desk serves the agent API on <data_dir>/desk.sock (mode 0600,
removed when it stops), and `wadesk list|show|reply ...`, run as a script runs it (a process of
its own), acts through it: the desk's outbox sends, the desk's store and screens have it at once."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import stat
import sys
from pathlib import Path

import pytest

from cli.targets import answers
from desk.models import ConversationStatus, MessageStatus
from desk.store.tiny import TinyStore
from desk.window import window
from engine.context import DeskContext
from engine.local_api import socket_path
from tests.conftest import make_context
from tests.test_cli_local import CONFIG
from tests.test_cloud_e2e import _listening_on, _serve, cloud_config, emulator, until  # noqa: F401 - emulator: a fixture
from tui.app import WadeskApp

ROOT = Path(__file__).resolve().parent.parent
SIZE = (80, 24)


async def wadesk(config: Path, data_dir: Path, *args: str) -> tuple[int, str, str]:
    """`wadesk ARGS` in a process of its own, as a script runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli", *args, "--config", str(config), "--data-dir", str(data_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env,
    )
    out, err = await child.communicate()
    assert child.returncode is not None
    return child.returncode, out.decode(), err.decode()


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in ("WADESK_CONFIG", "WADESK_DATA_DIR", "WADESK_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    return path


def open_window(desk: DeskContext) -> str:
    now = desk.clock.now()
    return next(c.id for c in sorted(desk.store.conversations(), key=lambda c: c.id) if window(c.last_inbound_at, now).open)


async def test_the_cli_acts_through_the_running_desk(desk: DeskContext, config: Path) -> None:
    sock = socket_path(desk.data_dir)
    cid = open_window(desk)
    async with WadeskApp(desk, pump_events=False, serve_cli=True).run_test(size=SIZE) as pilot:
        await until(pilot, sock.exists, "the desk to serve its socket")
        assert stat.S_IMODE(sock.stat().st_mode) == 0o600

        code, out, err = await wadesk(config, desk.data_dir, "list")
        assert (code, err) == (0, "")
        assert {line.split("\t")[0] for line in out.splitlines()} == {c.id for c in desk.store.conversations()}

        code, out, err = await wadesk(config, desk.data_dir, "reply", cid, "Sent by a script", "--json")
        told = json.loads(out)
        assert (code, err, told["outcome"]) == (0, "", "sent")
        # The desk's own outbox sent it: its store has it, signed with the desk's agent.
        sent = [m for m in desk.store.messages(cid) if m.text == "Sent by a script"]
        assert [(m.status, m.agent, m.wamid) for m in sent] == [(MessageStatus.SENT, "agent", told["message"]["wamid"])]

        code, out, _ = await wadesk(config, desk.data_dir, "show", cid)
        assert code == 0 and out.splitlines()[-1].endswith("\tout by agent\tsent\tSent by a script")

        for args in (("note", cid, "From the CLI"), ("assign", cid, "bob"), ("resolve", cid)):
            code, _, err = await wadesk(config, desk.data_dir, *args, "--json")
            assert (code, err) == (0, ""), args
        conversation = desk.store.conversation(cid)
        assert (conversation.assignee, conversation.status) == ("bob", ConversationStatus.RESOLVED)

        code, out, err = await wadesk(config, desk.data_dir, "show", "nope")
        assert (code, out, err) == (1, "", "wadesk: There is no conversation nope.\n")
    assert not sock.exists()


def leave_dead_socket(path: Path) -> None:
    """What a SIGKILLed desk leaves: a socket file nobody listens on."""
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()


async def test_a_socket_left_by_a_killed_desk_is_replaced(desk: DeskContext) -> None:
    sock = socket_path(desk.data_dir)
    leave_dead_socket(sock)
    assert not answers(sock)
    async with WadeskApp(desk, pump_events=False, serve_cli=True).run_test(size=SIZE) as pilot:
        await until(pilot, lambda: answers(sock), "the desk to serve its socket")
    assert not sock.exists()


async def test_the_cli_acts_through_wadesk_serve(tmp_path: Path, data_dir: Path, emulator, clock, config: Path) -> None:  # noqa: F811
    """`wadesk serve` (no TUI) serves the socket too, and removes it when it stops."""
    seeded = make_context(data_dir, clock)
    ids = sorted(c.id for c in seeded.store.conversations())
    seeded.store.close()
    serving = _serve(tmp_path, data_dir, cloud_config(emulator))
    sock = socket_path(data_dir)
    try:
        _listening_on(serving)
        for _ in range(500):  # another process: it binds the socket as it starts receiving
            if answers(sock):
                break
            await asyncio.sleep(0.01)
        code, out, err = await wadesk(config, data_dir, "list")
        assert (code, err) == (0, "")
        assert sorted(line.split("\t")[0] for line in out.splitlines()) == ids
        assert (await wadesk(config, data_dir, "note", ids[0], "Through serve"))[0] == 0
    finally:
        serving.send_signal(signal.SIGTERM)
        serving.wait(timeout=30)
    assert serving.returncode == 0
    assert not sock.exists()
    store = TinyStore(data_dir, clock=clock)
    store.open()
    try:
        assert store.messages(ids[0])[-1].text == "Through serve"
    finally:
        store.close()
