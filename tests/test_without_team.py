"""The embedded desk needs no [team] extra: `pip install . && wadesk` brings neither psycopg nor
httpx-sse, so nothing the desk, `wadesk serve` or the CLI on a local data directory runs may
import them. Run in a process where those imports fail, as on a machine without the extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from desk.clock import FrozenClock
from tests.conftest import make_context

REPO = Path(__file__).resolve().parents[1]
TEAM_ONLY = ("psycopg", "psycopg_pool", "psycopg_binary", "httpx_sse")

WITHOUT_TEAM = f"""
import sys, importlib.abc
class NoTeam(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {TEAM_ONLY!r}:
            raise ImportError(f"No module named {{name!r}} (the [team] extra is not installed)")
        return None
sys.meta_path.insert(0, NoTeam())
sys.argv = ["wadesk", *sys.argv[1:]]
from tui.cli import main
sys.exit(main())
"""


def wadesk(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(data_dir.parent)}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_TEAM, "--data-dir", str(data_dir), *args],
        capture_output=True, text=True, timeout=120, env=env, cwd=REPO,
    )


def test_the_cli_on_a_local_data_directory_needs_no_team_extra(data_dir: Path, clock: FrozenClock) -> None:
    context = make_context(data_dir, clock)
    cid = context.store.conversations()[0].id
    context.store.close()
    listed = wadesk("list", "--json", data_dir=data_dir)
    assert listed.returncode == 0, listed.stderr
    assert cid in listed.stdout
    noted = wadesk("note", cid, "Called back: no answer", data_dir=data_dir)
    assert noted.returncode == 0, noted.stderr
    assert "Traceback" not in noted.stderr


def test_team_commands_without_the_extra_say_what_to_install(data_dir: Path, tmp_path: Path) -> None:
    from backends.hub.extra import MISSING

    data_dir.mkdir(parents=True)
    # 1: a hub command refused; 2: the desk could not start (tui/cli.py START_FAILED)
    for args, code in ((("hub", "migrate"), 1), (("hub",), 1), (("--backend", "hub"), 2)):
        ran = wadesk(*args, data_dir=data_dir)
        assert ran.returncode == code, (args, ran.stderr)
        assert ran.stderr.strip().endswith(MISSING) and "Traceback" not in ran.stderr, (args, ran.stderr)
