"""Hub replicas as real processes (`python -m tui.cli hub`) for the tests: started on a free
loopback port against one database, killed with SIGKILL or stopped with SIGTERM, and the
database's state read back the way a client would compare it (`database_state`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from desk.clock import Clock
from desk.models import Message
from tests.hub_fixtures import DISPLAY, SECRET, VERIFY

REPO = Path(__file__).resolve().parents[1]
START_SECONDS = 60.0
ACCESS_TOKEN = "hub-graph-token-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_config(path: Path, port: int, graph_url: str, *, backend: str = "cloud", waba: str = "waba-hub") -> Path:
    numbers = "".join(
        f'[[cloud.numbers]]\nphone_number_id = "{number}"\ndepartment = "{name}"\ndisplay = "{display}"\n'
        for (number, display), name in zip(DISPLAY.items(), ("Sales", "Support"))
    )
    path.write_text(
        f'backend = "{backend}"\n[mock]\ninbound_per_minute = 0.0\n[cloud]\ngraph_url = "{graph_url}"\nwaba_id = "{waba}"\ntimeout_seconds = 30.0\n{numbers}'
        f'[webhook]\npath = "/webhook"\n[hub]\nlisten = "127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    return path


class Replica:
    """One `wadesk hub` process; `url` is its base ("http://127.0.0.1:PORT")."""

    def __init__(
        self, root: Path, name: str, pg_url: str, graph_url: str = "http://127.0.0.1:9", *, backend: str = "cloud"
    ) -> None:
        self.root = root / name
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.config = hub_config(self.root / "config.toml", self.port, graph_url, backend=backend)
        self.env = {
            **os.environ, "PYTHONPATH": str(REPO), "WADESK_DATABASE_URL": pg_url, "XDG_STATE_HOME": str(self.root / "state"),
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN, "WHATSAPP_APP_SECRET": SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY,
        }
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Replica:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui.cli", "--config", str(self.config), "--data-dir", str(self.root / "data"), "hub"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=self.env,
        )
        assert self.process.stderr is not None
        deadline = time.monotonic() + START_SECONDS
        for line in self.process.stderr:
            if b"wadesk hub: serving" in line:
                return self
            if time.monotonic() > deadline:
                break
        raise AssertionError(f"the hub replica {self.root.name} never started (exit {self.process.poll()})")

    def kill(self) -> None:
        """SIGKILL: nothing is closed, flushed or answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> int:
        """SIGTERM, the clean stop; its exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


def database_state(pg_url: str, clock: Clock) -> dict[str, list[Message]]:
    """Every conversation's transcript as the database has it: what a client that caught up
    must show (the acceptance's clients compare themselves with this)."""
    from desk.store.pg import PgStore

    store = PgStore(pg_url, clock=clock)
    store.open()
    try:
        return {c.id: store.messages(c.id) for c in store.conversations()}
    finally:
        store.close()
