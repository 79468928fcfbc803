"""The agent API (hub.api, docs/team.md) on a Unix socket: how the CLI reaches a desk.

A desk (the TUI, `wadesk serve`) that owns a data directory serves it on `<data_dir>/desk.sock`, so
that `wadesk list|show|reply ...` acts through the process that holds the lock; the CLI with no desk
running serves it on a socket of its own for the length of the command (cli/targets.py). One code
path, the hub's client, for the hub, the running desk and the data directory alone.

The socket's file mode is the access check (docs/team.md): 0600, the owner only, from the moment it
can be reached (bound in a private directory, made 0600, then renamed into place). The agent is the
configured one. A socket left by a desk that was killed is replaced: whoever binds holds the lock.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from engine import Engine
    from hub.local import OutboxDispatch

log = logging.getLogger(__name__)

SOCKET_NAME = "desk.sock"
PATH_MAX = 100
"""AF_UNIX paths hold 108 bytes on Linux, 104 on macOS: a data directory deeper than this serves no
socket (the CLI then says so)."""


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


def desk_app(engine: Engine) -> tuple[web.Application, OutboxDispatch]:
    """The agent API over the engine's store, under the path the hub's client calls (/api/v1), and
    what sends the messages it queues (the engine's outbox, in tasks of the running loop).
    ImportError without the [team] extra (the API streams events with aiohttp-sse)."""
    from backends.hub.client import API
    from hub.api import api_app
    from hub.local import local_services

    services, dispatch = local_services(engine)
    root = web.Application()
    root.add_subapp(API, api_app(services))
    return root, dispatch


class DeskSocket:
    """The desk's own API on `<data_dir>/desk.sock`, for the CLI, while the desk runs."""

    def __init__(self, engine: Engine, path: Path | None = None) -> None:
        self.engine = engine
        self.path = path or socket_path(engine.context.data_dir)
        self._api: LocalApi | None = None
        self._dispatch: OutboxDispatch | None = None

    async def start(self) -> bool:
        """Serve; False (and the reason in the log) when it cannot, the desk running on without:
        the CLI then says no desk answers."""
        try:
            app, self._dispatch = desk_app(self.engine)
            api = LocalApi(app, self.path)
            await api.start()
        except ImportError as exc:
            log.warning("no socket for the CLI: the agent API needs the [team] extra (%s is missing)", exc.name)
            return False
        except OSError as exc:
            log.warning("no socket for the CLI at %s: %s", self.path, exc)
            return False
        self._api = api
        log.info("the agent API for the CLI is on %s", self.path)
        return True

    async def settled(self) -> None:
        """Wait for the sends the CLI asked for that are under way."""
        if self._dispatch is not None:
            await self._dispatch.settled()

    async def stop(self) -> None:
        if self._api is not None:
            await self._api.stop()
            self._api = None

    def remove(self) -> None:
        """The socket's file removed at once (LocalApi.remove)."""
        if self._api is not None:
            self._api.remove()

    async def serve(self) -> None:
        """Serve until cancelled (the desk's and serve's lifetime), then remove the socket."""
        if not await self.start():
            return
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()


class LocalApi:
    """`app` served on the Unix socket `path` until `stop()`."""

    def __init__(self, app: web.Application, path: Path) -> None:
        self.app = app
        self.path = path
        self._runner: web.AppRunner | None = None
        self._inode: int | None = None

    async def start(self) -> None:
        """Bind (mode 0600) and serve. OSError when the socket cannot be made (the path too long,
        the directory not writable)."""
        if len(os.fsencode(self.path)) > PATH_MAX:
            raise OSError(f"the socket's path {self.path} is longer than {PATH_MAX} bytes")
        sock = _bind_private(self.path)
        runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        try:
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            sock.close()
            self.path.unlink(missing_ok=True)
            raise
        self._runner = runner
        self._inode = self.path.stat().st_ino

    async def stop(self) -> None:
        """Stop serving and remove the socket (unless another process has put its own there)."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self.remove()

    def remove(self) -> None:
        """Remove the socket now, so that no CLI finds it: for a face that stops without waiting
        (the TUI's unmount); the listening socket closes with the loop."""
        try:
            if self._inode is not None and self.path.stat().st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass
        self._inode = None


def _bind_private(path: Path) -> socket.socket:
    """A listening socket at `path` that nobody but the owner could ever connect to."""
    private = Path(tempfile.mkdtemp(prefix=".sock-", dir=path.parent))  # mode 0700
    try:
        staged = private / "s"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(staged))
            os.chmod(staged, 0o600)
            sock.listen(128)
            os.replace(staged, path)  # over a dead desk's socket, if one was left
        except BaseException:
            sock.close()
            raise
        sock.setblocking(False)
        return sock
    finally:
        staged.unlink(missing_ok=True)
        private.rmdir()
