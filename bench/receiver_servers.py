"""The servers the receiver bench feeds, each in its own process: `wadesk serve` (cloud backend,
receiver on 127.0.0.1, port 0) or a reference server (this file run as
`receiver_servers.py <kind> <data_dir>`), and what they cost: CPU from /proc, per thread and for
the whole machine."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from receiver_bodies import ACCESS_TOKEN, APP_SECRET, DISPLAY, PATH, VERIFY_TOKEN, WABA
from seed import NUMBERS, ROOT

TICKS = os.sysconf("SC_CLK_TCK")


def write_config(directory: Path) -> Path:
    numbers = "".join(
        f'[[cloud.numbers]]\nphone_number_id = "{n}"\ndepartment = "Bench {k}"\ndisplay = "{DISPLAY[n]}"\n\n'
        for k, n in enumerate(NUMBERS, 1)
    )
    path = directory / "bench.toml"
    path.write_text(
        f'backend = "cloud"\n[cloud]\ngraph_url = "http://127.0.0.1:9"\nwaba_id = "{WABA}"\n\n{numbers}'
        f'[webhook]\nhost = "127.0.0.1"\nport = 0\npath = "{PATH}"\n',
        encoding="utf-8",
    )
    return path


class Server:
    """A server subprocess: `wadesk serve`, or one of the reference servers (`reference_server` below)."""

    def __init__(self, kind: str, work: Path, data_dir: Path, *, command: list[str] | None = None,
                 environ: dict[str, str] | None = None, ready: str = "receiving webhooks on") -> None:
        """`command` (with `environ` added to the environment): another server, e.g. a hub replica
        (bench/team_cluster.py), started once its stderr has a line with `ready` ending in its URL."""
        env = dict(
            os.environ, WHATSAPP_ACCESS_TOKEN=ACCESS_TOKEN, WHATSAPP_APP_SECRET=APP_SECRET,
            WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(work / "state"),
            **(environ or {}),
        )
        if command is not None:
            cmd = command
        elif kind == "serve":
            cmd = [sys.executable, "-m", "tui.cli", "--config", str(write_config(work)), "--data-dir", str(data_dir), "serve"]
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), kind, str(data_dir)]
        self.kind = kind
        self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        self.stderr: list[str] = []
        self.url = ""
        watchdog = threading.Timer(30.0, self.kill)  # never hang on a server that does not start
        watchdog.start()
        for line in self.process.stderr:
            text = line.decode(errors="replace")
            self.stderr.append(text)
            if ready in text:
                self.url = text.rsplit(" ", 1)[1].strip()
                break
        watchdog.cancel()
        if not self.url:
            self.process.wait(timeout=10)
            raise RuntimeError(f"{kind} did not start:\n{''.join(self.stderr)}")
        assert self.url.startswith("http://127.0.0.1:"), self.url
        self._drain = threading.Thread(target=self._read_rest, daemon=True)
        self._drain.start()

    def _read_rest(self) -> None:
        for line in self.process.stderr:
            self.stderr.append(line.decode(errors="replace"))

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (the main thread, every other thread)."""
        main = other = 0.0
        pid = self.process.pid
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            seconds = (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime
            if int(task.name) == pid:
                main += seconds
            else:
                other += seconds
        return main, other

    def rss(self) -> int:
        """Resident memory now, in bytes (VmRSS)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.kind}")

    def stop(self, timeout: float = 60.0) -> float:
        """SIGTERM; seconds until it exited (it must exit 0)."""
        t = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        took = time.perf_counter() - t
        self._drain.join(timeout=5)
        if code != 0:
            raise RuntimeError(f"{self.kind} exited with {code}:\n{''.join(self.stderr[-30:])}")
        return took

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def reference_server(kind: str, data_dir: Path) -> None:
    """A reference server (run as `receiver_servers.py <kind> <data_dir>`), until SIGTERM.
    null: reads the body, answers 200. receiver: serve's receiver_app and Spool, nothing applied."""
    from aiohttp import web

    from backends.cloud.receiver import Receiver, receiver_app
    from backends.cloud.spool import Spool

    async def main() -> None:
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopping.set)
        spool = None
        if kind == "null":
            async def receive(request: web.Request) -> web.Response:
                await request.read()
                return web.Response(text="ok")

            async def verify(request: web.Request) -> web.Response:
                return web.Response(text=request.query.get("hub.challenge", ""))

            app = web.Application(client_max_size=3 * 1024 * 1024)
            app.router.add_get(PATH, verify)
            app.router.add_post(PATH, receive)
        elif kind == "receiver":
            spool = Spool(data_dir)
            spool.open()
            app = receiver_app(path=PATH, app_secret=APP_SECRET, verify_token=VERIFY_TOKEN, spool=spool,
                               received=lambda seq, body: None)
        else:
            raise SystemExit(f"unknown server kind {kind!r}")
        receiver = Receiver(app, "127.0.0.1", 0)
        await receiver.start()
        print(f"bench {kind}: receiving webhooks on {receiver.url}{PATH}", file=sys.stderr, flush=True)
        await stopping.wait()
        await receiver.stop()
        if spool is not None:
            spool.close()

    asyncio.run(main())


def machine_cpu() -> dict[str, float]:
    """CPU seconds of the whole machine so far (/proc/stat): busy (user, system, irq, softirq: any
    process, the kernel's own threads included), iowait and steal (taken by the hypervisor)."""
    fields = [int(x) / TICKS for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, iowait, irq, softirq, steal = fields[:8]
    return {"busy": user + nice + system + irq + softirq, "iowait": iowait, "steal": steal}


if __name__ == "__main__":
    reference_server(sys.argv[1], Path(sys.argv[2]))
