"""Where a CLI command goes, and how: always the hub's client over the agent API (docs/team.md).

- a hub: `--hub URL`, or [hub] url when the config says backend = "hub"; the agent's token comes
  from the environment variable [hub] token_env;
- the running desk: when `<data_dir>/desk.sock` answers (the desk or `wadesk serve` holding the data
  directory's lock serves it, engine/local_api.py);
- the data directory alone: this process opens the store and the engine, serves the same API on a
  socket of its own for the length of the command, and sends what the command asked before it exits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import httpx

from backends.hub.client import HubClient
from cli.commands import Refused
from desk.clock import Clock
from desk.config import Config
from desk.store import StoreLocked
from engine.local_api import SOCKET_NAME, DeskSocket, socket_path

LOCAL_URL = "http://desk"
"""The base URL over a Unix socket (httpx needs a host; the socket is the address)."""
LOCAL_TOKEN = "socket"
"""Sent on the socket, where the desk ignores it (the socket's file mode is the access check): the
client always sends one, and an empty one is no valid header."""

Execute = Callable[[HubClient, Clock | None, bool], int]
"""Runs the command on a client: (client, the desk's clock when this process runs the desk (None:
the caller's own), whether the target is the local desk (whose agent is the config's))."""


def hub_url(args: argparse.Namespace, config: Config) -> str | None:
    """The hub the command goes to, or None for the local desk's data."""
    if args.hub:
        return str(args.hub)
    return config.hub.url if config.backend == "hub" else None


def hub_token(config: Config) -> str:
    name = config.hub.token_env
    token = os.environ.get(name, "").strip()
    if not token:
        raise Refused(f"No token for the hub: set the environment variable {name} to the token "
                      "`wadesk hub add-agent` printed for you.")
    return token


def answers(path: Path) -> bool:
    """Whether a desk listens on the socket `path` (a socket left by a killed desk refuses)."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def local_client(path: Path) -> HubClient:
    """The client of a desk's socket."""
    return HubClient(LOCAL_URL, LOCAL_TOKEN, transport=httpx.HTTPTransport(uds=str(path)))


def run(args: argparse.Namespace, config: Config, data_dir: Path, execute: Execute, clock: Clock | None = None) -> int:
    """Run `execute` against the command's target; Refused (and the client's errors) propagate."""
    url = hub_url(args, config)
    if url is not None:
        with HubClient(url, hub_token(config)) as client:
            return execute(client, clock, False)
    path = socket_path(data_dir)
    if answers(path):
        with local_client(path) as client:
            return execute(client, clock, True)
    return asyncio.run(_direct(config, data_dir, execute, clock))


async def _direct(config: Config, data_dir: Path, execute: Execute, clock: Clock | None) -> int:
    """No desk runs: this process is the desk for the length of the command."""
    from engine import Engine
    from engine.context import build

    if not data_dir.is_dir():
        raise Refused(f"There is no desk's data in {data_dir}: run wadesk there first, or name another with --data-dir.")
    context = build(config, data_dir, clock)
    try:
        context.store.open()
    except StoreLocked:
        raise Refused(
            f"Another process holds the data directory {data_dir} and serves no socket to act through "
            "(wadesk check or reindex, or a desk without the [team] extra): try again when it has finished."
        ) from None
    engine = Engine(context, lambda sentence: print(f"wadesk: {sentence}", file=sys.stderr))
    private = Path(tempfile.mkdtemp(prefix="wadesk-cli-"))  # mode 0700; short, for the socket's path
    desk = DeskSocket(engine, private / SOCKET_NAME)
    try:
        if not await desk.start():
            raise Refused(f"Cannot serve the agent API for {data_dir}; the log file says why.")
        with local_client(desk.path) as client:
            code = await asyncio.to_thread(execute, client, context.clock, True)
        # What the command queued leaves before this process does: its outcome is recorded, never
        # left SENDING (that would read as unknown at the next start).
        await desk.settled()
        return code
    finally:
        await desk.stop()
        private.rmdir()
        engine.close()
        await context.backend.stop()  # the mock keeps its world's state (what it will answer)
        context.store.close()
