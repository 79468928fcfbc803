"""Writing the reply in $EDITOR: the module's function with a fake editor (a small Python script
that rewrites the file and notes what it saw), and the screen's key in Pilot. Headless, Textual
cannot suspend (its headless driver says so): the Pilot test of the whole round trip stands in a
no-op for App.suspend, and another one checks the sentence the agent gets where suspending is
impossible."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import stat
import sys
from pathlib import Path

import pytest

from tests.conftest import find_conversation, ready
from tests.test_flows import SIZE, open_conversation
from tests.test_message_cursor import open_with_a_customer_text_before_the_newest, spy
from tui.editor import EditorProblem, edit, editor_command
from tui.screens.message_actions import CANNOT_SUSPEND

FAKE_EDITOR = """
import json, os, stat, sys
path = sys.argv[-1]
with open(path, encoding="utf-8") as f:
    before = f.read()
seen = {"path": path, "mode": stat.S_IMODE(os.stat(path).st_mode), "before": before}
with open(os.environ["FAKE_EDITOR_LOG"], "w", encoding="utf-8") as f:
    json.dump(seen, f)
with open(path, "w", encoding="utf-8") as f:
    f.write(before + " and a long answer\\r\\nwith a second line\\x1b[31m\\n\\n")
sys.exit(int(os.environ.get("FAKE_EDITOR_EXIT", "0")))
"""


@pytest.fixture
def fake_editor(tmp_path: Path, monkeypatch) -> Path:
    script = tmp_path / "fake editor.py"  # a space: the command is split, never given to a shell
    script.write_text(FAKE_EDITOR, encoding="utf-8")
    log = tmp_path / "seen.json"
    monkeypatch.setenv("FAKE_EDITOR_LOG", str(log))
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}")
    return log


def test_the_editor_gets_a_private_file_and_its_text_comes_back(fake_editor):
    edited = edit("Dear Ana,", editor_command(os.environ))
    assert edited == "Dear Ana, and a long answer\nwith a second line␛[31m"
    seen = json.loads(fake_editor.read_text())
    assert seen["before"] == "Dear Ana,"
    assert seen["mode"] == stat.S_IRUSR | stat.S_IWUSR, oct(seen["mode"])
    assert not Path(seen["path"]).exists(), "the file is removed afterwards"


def test_a_failing_editor_keeps_nothing_and_says_so(fake_editor, monkeypatch):
    monkeypatch.setenv("FAKE_EDITOR_EXIT", "3")
    with pytest.raises(EditorProblem, match="exited with status 3"):
        edit("kept", editor_command(os.environ))
    assert not Path(json.loads(fake_editor.read_text())["path"]).exists()
    with pytest.raises(EditorProblem, match="could not be started"):
        edit("kept", ["/no/such/editor"])


@pytest.mark.parametrize(
    ("environ", "command"),
    [
        ({"VISUAL": "code --wait", "EDITOR": "vi"}, ["code", "--wait"]),
        ({"VISUAL": " ", "EDITOR": "nano -w"}, ["nano", "-w"]),
        ({"EDITOR": "'/opt/my editor/bin/ed' -x"}, ["/opt/my editor/bin/ed", "-x"]),
        ({"EDITOR": "vi; rm -rf ~"}, ["vi;", "rm", "-rf", "~"]),  # words, never a shell's commands
    ],
)
def test_the_command_comes_from_visual_else_editor_split_without_a_shell(environ, command):
    assert editor_command(environ) == command


@pytest.mark.parametrize("environ", [{}, {"EDITOR": ""}, {"EDITOR": "'unclosed"}])
def test_no_usable_editor_is_a_sentence(environ):
    with pytest.raises(EditorProblem) as problem:
        editor_command(environ)
    assert str(problem.value).endswith(".")


async def test_alt_o_fills_the_composer_from_the_editor_and_sends_nothing(app, desk, fake_editor, monkeypatch):
    monkeypatch.setattr(type(app), "suspend", lambda self: contextlib.nullcontext())
    calls = spy(monkeypatch, desk.backend, "send_text")
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_conversation(pilot, target)
        await pilot.press(*"Hello", "alt+o")
        await ready(pilot)
        assert screen.composer.text == "Hello and a long answer\nwith a second line␛[31m"
        assert screen.composer.has_focus and calls == []
        assert desk.store.draft(target) == screen.composer.text, "kept as the draft like anything typed"
        monkeypatch.setenv("FAKE_EDITOR_EXIT", "1")
        await pilot.press("alt+o")
        await ready(pilot)
        assert screen.composer.text == "Hello and a long answer\nwith a second line␛[31m", "a failed edit keeps the text"
        assert any("exited with status 1" in n.message for n in pilot.app._notifications)


async def test_where_textual_cannot_suspend_the_agent_is_told_and_the_text_stays(app, desk, fake_editor):
    target = find_conversation(desk, open_with_a_customer_text_before_the_newest)
    async with app.run_test(size=SIZE) as pilot:  # headless: Textual cannot suspend
        screen = await open_conversation(pilot, target)
        await pilot.press(*"Hello", "alt+o")
        await pilot.pause()
        assert screen.composer.text == "Hello"
        assert any(n.message == CANNOT_SUSPEND for n in pilot.app._notifications)
        assert not fake_editor.exists(), "the editor never ran"
