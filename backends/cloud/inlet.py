"""Where webhook bodies come in: the receiver and its spool, in this process or in a child process.

Why a child process (`[webhook] process = true`, the default): Python runs one thread at a time
in a process, so the receiver (HTTP, signatures, the spool's writes) and the store's writer take
turns on one core. At 2,000 webhooks a second the writer applied about 1,200 a second while the
receiver ran, and 2,600 once it stopped (bench/ingest.py, docs/performance.md). In a process of
its own the receiver runs on the other core. The spool stays the one place a body is made durable
before its 200; the child owns it, and the parent only learns of each body after that.

The child's pipes: on stdout one line, `listening <url>` (or `cannot <sentence>` and it exits),
then one spool record (spool.encode: header, body, CRC) per body made durable, the bodies of the
spool not yet done first; a record with seq 0 and no body says that it stopped receiving. On
stdin, lines: `done <seq>` (the store has every event of every body up to seq), `stop` (stop
receiving, after answering what is in flight) and `close` (write the done mark and exit). Its
log (stderr) goes to ours. The app secret and verify token reach it in its environment, never its
command line.

If the child dies, it is started again: what it answered 200 is in the spool, and the new child
replays what was not done; what it had not answered, WhatsApp sends again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from backends.cloud.receiver import CannotListen, Receiver, receiver_app
from backends.cloud.spool import HEADER, HEADER_SIZE, MAGIC, Spool, encode

log = logging.getLogger(__name__)

Received = Callable[[int, bytes], None]
"""Called with (seq, body) for each body once it is durable in the spool, in seq order."""

_SECRET_ENV = "WADESK_INLET_APP_SECRET"
_TOKEN_ENV = "WADESK_INLET_VERIFY_TOKEN"
_RESTART_SECONDS = 1.0
_STOPPED = 0
"""The seq of the record that says the child stopped receiving (spool seqs start at 1)."""


class Inlet(Protocol):
    url: str
    """Where the receiver listens (the real port when 0 was asked), once started."""

    async def start(self, received: Received) -> None:
        """Replay what the spool holds not done, then listen; CannotListen if the port is taken."""

    def done(self, seq: int) -> None:
        """Every event of every body up to `seq` is durable in the store."""

    async def stop_receiving(self) -> None:
        """Answer what is in flight, then refuse connections; every body answered 200 was handed
        to `received` when this returns."""

    async def close(self) -> None: ...


class ThreadInlet:
    """The receiver on this process's event loop, the spool on a thread of its own."""

    def __init__(self, data_dir: Path, host: str, port: int, path: str, app_secret: str, verify_token: str) -> None:
        self._spool = Spool(data_dir)
        self._listen = (host, port)
        self._app = (path, app_secret, verify_token)
        self._receiver: Receiver | None = None
        self.url = ""

    async def start(self, received: Received) -> None:
        for seq, body in self._spool.open():
            received(seq, body)  # received before a crash, never applied: replay
        path, secret, token = self._app
        app = receiver_app(path=path, app_secret=secret, verify_token=token, spool=self._spool, received=received)
        self._receiver = Receiver(app, *self._listen)
        await self._receiver.start()
        self.url = self._receiver.url

    def done(self, seq: int) -> None:
        self._spool.done(seq)

    async def stop_receiving(self) -> None:
        if self._receiver:
            await self._receiver.stop()
            self._receiver = None

    async def close(self) -> None:
        await self.stop_receiving()
        self._spool.close()


class ProcessInlet:
    """The receiver and the spool in a child process (`python -m backends.cloud.inlet`)."""

    def __init__(self, data_dir: Path, host: str, port: int, path: str, app_secret: str, verify_token: str) -> None:
        self._args = ["--data-dir", str(data_dir), "--host", host, "--port", str(port), "--path", path]
        self._env = {**os.environ, _SECRET_ENV: app_secret, _TOKEN_ENV: verify_token}
        self._child: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()
        self._closing = False
        self._received: Received = lambda seq, body: None
        self.url = ""

    async def start(self, received: Received) -> None:
        self._received = received
        await self._spawn()

    async def _spawn(self) -> None:
        self._stopped.clear()
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "backends.cloud.inlet", *self._args,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=self._env,
        )
        assert child.stdout is not None and child.stderr is not None
        asyncio.create_task(_relay_log(child.stderr))
        first = (await child.stdout.readline()).decode("utf-8", "replace").rstrip("\n")
        if not first.startswith("listening "):
            await child.wait()
            sentence = first.removeprefix("cannot ") or f"the webhook receiver exited ({child.returncode})"
            raise CannotListen(sentence)
        self.url = first.removeprefix("listening ")
        self._child = child
        self._reader = asyncio.create_task(self._read(child))

    async def _read(self, child: asyncio.subprocess.Process) -> None:
        assert child.stdout is not None
        try:
            while True:
                header = await child.stdout.readexactly(HEADER_SIZE)
                magic, seq, length, crc = HEADER.unpack(header)
                body = await child.stdout.readexactly(length)
                if magic != MAGIC or zlib.crc32(body, zlib.crc32(header[4:16])) != crc:
                    raise ValueError(f"a garbled record from the webhook receiver (seq {seq})")
                if seq == _STOPPED:
                    self._stopped.set()
                else:
                    self._received(seq, body)
        except (asyncio.IncompleteReadError, ValueError) as exc:
            code = await child.wait()
            self._stopped.set()
            if self._closing:
                return
            # Its bodies answered 200 are in the spool: the next child replays what is not done.
            log.error("the webhook receiver stopped (%s, exit %s); starting it again", exc, code)
            await asyncio.sleep(_RESTART_SECONDS)
            try:
                await self._spawn()
            except CannotListen as listen:
                log.error("the webhook receiver could not start again: %s", listen)

    def _send(self, line: str) -> None:
        child = self._child
        if child is not None and child.stdin is not None and not child.stdin.is_closing():
            child.stdin.write(line.encode() + b"\n")

    def done(self, seq: int) -> None:
        self._send(f"done {seq}")

    async def stop_receiving(self) -> None:
        if self._child is None or self._child.returncode is not None:
            return
        self._send("stop")
        await self._stopped.wait()

    async def close(self) -> None:
        self._closing = True
        child = self._child
        if child is None:
            return
        self._send("close")
        try:
            await asyncio.wait_for(child.wait(), 10)
        except TimeoutError:
            child.kill()  # the spool is whole after a kill: at worst some bodies replay
            await child.wait()
        if self._reader is not None:
            await self._reader


async def _relay_log(stream: asyncio.StreamReader) -> None:
    """The child's log lines ("LEVEL message") into ours: the desk's terminal is Textual's."""
    child_log = logging.getLogger("backends.cloud.inlet.child")
    while line := await stream.readline():
        level, _, message = line.decode("utf-8", "replace").rstrip("\n").partition(" ")
        child_log.log(logging.getLevelName(level) if level.isupper() else logging.INFO, "%s", message)


# --- the child ----------------------------------------------------------------------------------


async def _child(args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_write_pipe(asyncio.Protocol, os.fdopen(sys.stdout.fileno(), "wb", 0))

    def emit(seq: int, body: bytes) -> None:
        transport.write(encode(seq, body))

    spool = Spool(Path(args.data_dir))
    replay = spool.open()
    app = receiver_app(
        path=args.path, app_secret=os.environ.get(_SECRET_ENV, ""), verify_token=os.environ.get(_TOKEN_ENV, ""),
        spool=spool, received=emit,
    )
    receiver = Receiver(app, args.host, args.port)
    try:
        await receiver.start()
    except CannotListen as exc:
        transport.write(f"cannot {exc}\n".encode())
        spool.close()
        return 2
    transport.write(f"listening {receiver.url}\n".encode())
    for seq, body in replay:
        emit(seq, body)
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    receiving = True
    while line := (await commands.readline()).decode().strip():
        verb, _, value = line.partition(" ")
        if verb == "done":
            spool.done(int(value))
        elif verb == "stop" and receiving:
            await receiver.stop()
            receiving = False
            emit(_STOPPED, b"")
        elif verb == "close":
            break
    if receiving:
        await receiver.stop()
    spool.close()
    transport.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backends.cloud.inlet", description="wadesk's webhook receiver")
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    return asyncio.run(_child(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
