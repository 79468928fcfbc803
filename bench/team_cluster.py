"""The team bench's cluster: a private PostgreSQL (tests/postgres_server.py), migrated and given an
agent by the real commands (`wadesk hub migrate`, `wadesk hub add-agent`), and hub replicas as real
processes (`wadesk hub`, cloud backend, the bench's secrets in the environment), each on its own
loopback port; what they cost (CPU and RSS from /proc, PostgreSQL's backends included)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from receiver_bodies import DISPLAY, PATH, WABA
from receiver_servers import Server
from seed import NUMBERS, ROOT

AGENT = "bench"


@contextmanager
def database(max_connections: int) -> Iterator[str]:
    """A private PostgreSQL server for the run; yields the conninfo of its (empty) `postgres` database.
    `max_connections`: every event stream holds one of its replica's connections (hub/events.py)."""
    from tests.postgres_server import running_server

    with running_server(max_connections=max_connections) as conninfo:
        yield conninfo


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_command(conninfo: str, *args: str, work: Path) -> str:
    """`wadesk hub ARGS` against the database (its stdout); raises with its stderr if it fails."""
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli", "--config", str(write_config(work, 0)), "--data-dir", str(work / "admin"),
         "hub", *args],
        cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT), WADESK_DATABASE_URL=conninfo,
                                                          XDG_STATE_HOME=str(work / "state")),
    )
    if done.returncode != 0:
        raise RuntimeError(f"wadesk hub {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def prepare(conninfo: str, work: Path) -> str:
    """Migrate the database and add the bench's agent (an admin: every department); its token."""
    hub_command(conninfo, "migrate", work=work)
    return hub_command(conninfo, "add-agent", AGENT, "--role", "admin", work=work).strip()


def write_config(work: Path, port: int, name: str = "admin") -> Path:
    """A replica's config: the cloud backend (secrets from the environment, a Graph API nobody
    answers: the bench sends nothing), both business numbers, [webhook] path, [hub] listen."""
    numbers = "".join(
        f'[[cloud.numbers]]\nphone_number_id = "{n}"\ndepartment = "Bench {k}"\ndisplay = "{DISPLAY[n]}"\n\n'
        for k, n in enumerate(NUMBERS, 1)
    )
    path = work / f"{name}.toml"
    path.write_text(
        f'backend = "cloud"\n[cloud]\ngraph_url = "http://127.0.0.1:9"\nwaba_id = "{WABA}"\n\n{numbers}'
        f'[webhook]\npath = "{PATH}"\n[hub]\nlisten = "127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    return path


class Replica(Server):
    """One `wadesk hub` process. `url` is its webhook URL, `base` its root (the API is base/api/v1)."""

    def __init__(self, name: str, work: Path, conninfo: str) -> None:
        data_dir = work / name
        config = write_config(work, _free_port(), name)
        command = [sys.executable, "-m", "tui.cli", "--config", str(config), "--data-dir", str(data_dir), "hub"]
        super().__init__(f"hub {name}", work, data_dir, command=command, environ={"WADESK_DATABASE_URL": conninfo},
                         ready="wadesk hub: serving")
        self.name = name
        self.base = self.url.removesuffix(PATH)
        self.port = int(self.base.rsplit(":", 1)[1])


def postmaster(conninfo: str) -> int:
    """The pid of the bench's PostgreSQL server (the parent of every backend of it): other
    PostgreSQL servers run on this machine (the tests'), and are not counted."""
    import psycopg

    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        # Read while the session lasts: its backend exits with it, and /proc forgets it.
        return int(Path(f"/proc/{row[0]}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _processes(root: int) -> Iterator[tuple[Path, list[str]]]:
    """(/proc entry, stat fields after the name) of process `root` and of its children alive now."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(entry.name) == root or int(fields[1]) == root:  # fields[1]: the parent's pid
            yield entry, fields


def postgres_memory(server: int) -> tuple[int, int]:
    """(the server's backends serving clients, the proportional set size of all its processes in
    bytes): PSS, because the shared buffers are mapped by every backend and RSS would count them
    once per backend."""
    backends = pss = 0
    for entry, _ in _processes(server):
        try:
            cmdline = (entry / "cmdline").read_bytes()
            rollup = (entry / "smaps_rollup").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        pss += next(int(line.split()[1]) * 1024 for line in rollup.splitlines() if line.startswith("Pss:"))
        # A backend's title: "postgres: user db 127.0.0.1(port) state"; the server's own processes
        # (checkpointer, walwriter, ...) have no client address.
        backends += b"127.0.0.1(" in cmdline
    return backends, pss


def tree_cpu(pid: int) -> float:
    """CPU seconds so far of process `pid` and of its children alive now: the PostgreSQL server
    and its backends, or `wadesk serve` and its receiver (a process of its own:
    backends/cloud/inlet.py). A child that ended is not counted (the bench's connections last)."""
    from receiver_servers import TICKS

    return sum((int(fields[11]) + int(fields[12])) / TICKS for _, fields in _processes(pid))
