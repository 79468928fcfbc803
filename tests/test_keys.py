"""Keys that users can move: every binding has an id, the config's [keys] table remaps it, and the
help and the footer show the key as moved."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from desk.config import ConfigError, load
from tests.conftest import make_context, quiet_config, ready
from tests.test_capabilities import footer_text
from tests.test_failures_told import writable
from tests.test_flows import SIZE, open_conversation
from tui.app import WadeskApp
from tui.keys import binding_ids, keymap
from tui.screens.help import HelpScreen
from tui.screens.template_picker import TemplatePicker

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def test_every_binding_id_is_in_one_scheme_and_listed_in_the_example_config():
    ids = binding_ids()
    assert all(re.fullmatch(r"[a-z]+\.[a-z-]+", i) for i in ids), sorted(ids)
    listed = set(re.findall(r'^# "([a-z.-]+)"\s*=', EXAMPLE.read_text(), flags=re.M))
    assert listed == set(ids)


def test_an_unknown_id_is_refused_naming_it(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"conversation.templat" = "ctrl+y"\n')
    with pytest.raises(ConfigError, match="keys.conversation.templat names no key"):
        keymap(load(config).keys)


async def test_a_remapped_key_moves_and_the_help_and_footer_show_it(data_dir, clock):
    config = dataclasses.replace(quiet_config(), keys={"conversation.template": "f9"})
    desk = make_context(data_dir, clock, config)
    try:
        app = WadeskApp(desk, pump_events=False)
        async with app.run_test(size=SIZE) as pilot:
            await open_conversation(pilot, writable(desk))
            assert "f9 Template" in footer_text(app) and "^t" not in footer_text(app)
            await pilot.press("f1")
            await ready(pilot)
            assert isinstance(app.screen, HelpScreen)
            keys = app.screen._keys.plain
            assert re.search(r"f9\s+Pick an approved template", keys), keys
            await pilot.press("escape", "ctrl+t")  # the old key does nothing now
            await ready(pilot)
            assert not isinstance(app.screen, TemplatePicker)
            await pilot.press("f9")
            await ready(pilot)
            assert isinstance(app.screen, TemplatePicker)
    finally:
        desk.store.close()


def test_the_desk_does_not_start_with_an_unknown_key_id(tmp_path, capsys):
    from tui.cli import main

    config = tmp_path / "config.toml"
    config.write_text('[keys]\n"inbox.opne" = "o"\n')
    assert main(["--config", str(config), "--data-dir", str(tmp_path / "data")]) == 2
    err = capsys.readouterr().err
    assert "keys.inbox.opne names no key of the desk" in err and "Traceback" not in err
