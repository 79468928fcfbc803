"""`wadesk hub ...` as an admin runs it: real processes on a real PostgreSQL. Each refusal is one
sentence and exit 1 (never the database's password, never a traceback); usage is exit 2."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from desk.store.pg import migrate

REPO = Path(__file__).resolve().parents[1]


def wadesk(*args: str, url: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "WADESK_DATABASE_URL"}
    env.update(PYTHONPATH=str(REPO), WADESK_CONFIG=os.devnull)
    if url is not None:
        env["WADESK_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "tui.cli", *args], env=env, capture_output=True, text=True, timeout=timeout)


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("wadesk hub: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_migrate_prints_what_it_applied_then_that_nothing_was_left(pg_url: str) -> None:
    first = wadesk("hub", "migrate", url=pg_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == [word for s in migrate.steps() for word in ("applied", s.name)]
    again = wadesk("hub", "migrate", url=pg_url)
    assert again.returncode == 0 and "up to date" in again.stdout


def test_add_agent_prints_the_token_once_and_revoke_ends_it(pg_url: str) -> None:
    migrate.migrate(pg_url)
    added = wadesk("hub", "add-agent", "ana", "--role", "admin", "--departments", "Sales", "Support", url=pg_url)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip()
    assert token.startswith("wdk_") and "shown this once" in added.stderr
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT name, role, departments FROM agents").fetchall() == [("ana", "admin", ["Sales", "Support"])]
    assert "already an agent named ana" in one_sentence(wadesk("hub", "add-agent", "ana", url=pg_url))
    assert wadesk("hub", "revoke", "ana", url=pg_url).returncode == 0
    assert "no agent named ana" in one_sentence(wadesk("hub", "revoke", "ana", url=pg_url))
    assert "lower-case" in one_sentence(wadesk("hub", "add-agent", "Not A Name", url=pg_url))


def test_usage_errors_exit_2() -> None:
    assert wadesk("hub", "add-agent").returncode == 2
    assert wadesk("hub", "add-agent", "bob", "--role", "boss").returncode == 2


def test_no_database_url_is_one_sentence_naming_the_variable() -> None:
    for args in (("hub",), ("hub", "migrate"), ("hub", "add-agent", "bob")):
        assert "WADESK_DATABASE_URL" in one_sentence(wadesk(*args))


def test_an_unreachable_database_is_a_sentence_without_its_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    url = f"postgresql://ana:sekrit-pw@127.0.0.1:{port}/team"
    for args in (("hub",), ("hub", "revoke", "bob")):
        sentence = one_sentence(wadesk(*args, url=url))
        assert f"team on 127.0.0.1:{port}" in sentence and "sekrit-pw" not in sentence


def test_a_schema_not_migrated_or_too_new_is_refused_with_what_to_do(pg_url: str) -> None:
    assert "wadesk hub migrate" in one_sentence(wadesk("hub", url=pg_url))
    migrate.migrate(pg_url)
    with psycopg.connect(pg_url) as conn:
        conn.execute("INSERT INTO schema_version (version, name) VALUES (9999, '9999_future.sql')")
    assert "upgrade wadesk" in one_sentence(wadesk("hub", url=pg_url))
    assert "upgrade wadesk" in one_sentence(wadesk("hub", "migrate", url=pg_url))


def test_the_embedded_desk_never_imports_psycopg() -> None:
    code = "import sys, tui.cli; tui.cli.parser(); print(sorted(m for m in sys.modules if m.startswith(('psycopg', 'hub.server'))))"
    result = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize("listen", ["8788", "localhost:"])
def test_a_bad_listen_address_is_a_sentence(listen: str) -> None:
    from hub.server import HubRefused, host_port

    with pytest.raises(HubRefused, match="hub.listen must be host:port"):
        host_port(listen)


def test_import_copies_a_seeded_desk_once_and_says_how_much(pg_url: str, tmp_path: Path) -> None:
    pytest.importorskip("desk.store.pg.importer", reason="until the PostgreSQL store's importer lands")
    from desk.clock import FrozenClock, SystemClock
    from tests.conftest import NOW, make_context
    from tests.hub_replicas import database_state

    source = tmp_path / "desk"
    desk = make_context(source, FrozenClock(NOW))
    expected = {c.id: [(m.id, m.status) for m in desk.store.messages(c.id)] for c in desk.store.conversations()}
    desk.store.close()
    migrate.migrate(pg_url)
    first = wadesk("hub", "import", str(source), url=pg_url, timeout=300)
    assert first.returncode == 0, first.stderr
    assert any(line.startswith("conversations") and line.split()[-1] == str(len(expected)) for line in first.stdout.splitlines())
    again = wadesk("hub", "import", str(source), url=pg_url, timeout=300)
    assert again.returncode == 0, again.stderr
    assert again.stdout != first.stdout  # its counts say nothing new was added
    state = database_state(pg_url, SystemClock())
    assert {cid: [(m.id, m.status) for m in messages] for cid, messages in state.items()} == expected
    assert "is not a directory" in one_sentence(wadesk("hub", "import", str(tmp_path / "nowhere"), url=pg_url))


async def test_a_hub_on_the_hub_backend_is_refused(pg_url: str, tmp_path: Path) -> None:
    from desk.config import Config
    from hub.server import HubRefused, run

    with pytest.raises(HubRefused, match='backend must be "cloud"'):
        await run(Config(backend="hub"), pg_url, tmp_path)
