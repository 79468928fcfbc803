"""The webhook receiver as deployed: `wadesk serve` in its own process, fed signed webhooks over
loopback by this process (httpx.AsyncClient), C requests in flight at a time.

Per run: a fresh data directory and a `wadesk serve` subprocess (cloud backend, receiver on
127.0.0.1, port 0, the three WHATSAPP_* secrets in its environment, its log in the run's temporary
directory). Then --webhooks signed bodies, each one inbound text message (~1 KB of JSON shaped like
Meta's, a distinct wamid, from one of --customers customers on two business numbers), are POSTed
with C requests in flight, each on its own keep-alive connection. Bodies and signatures are built
before the clock starts; one GET of the verification handshake per connection opens it first
(nothing is stored for those).

Reported per concurrency (median [min-max] of --runs runs):
  accepted/s   N / (first request sent -> last 200): signature check + durable spool write + 200,
               with the store applying beside it, as in production. Every answer must be a 200.
  latency      client side, request sent -> 200 read: median, p95, p99.
  backlog      bodies answered 200 but not applied yet when the last 200 came (read from
               webhooks.done, which serve rewrites every 64 applied bodies: exact to 64).
  ingest lag   last 200 -> everything applied. Method: right after the last 200 one more body is
               sent, a message from a customer seen nowhere else. serve applies bodies in the order
               it accepted them (one FIFO queue), so this marker is applied last; its shard file
               (conversations/<xx>/<id>.json, replaced atomically after the journal record is
               fsync'd) is polled every 2 ms. Why not SIGTERM and wait for the exit: `tui/serve.py`
               cancels the pump on SIGTERM and exits without applying the backlog (the spool replays
               it at the next start), so the exit time says nothing about the store.
  apply/s      (N + 1) / (first 200 -> marker visible): the store's rate inside serve, with the
               receiver beside it. It is the store's own rate when a backlog built up (it does at
               every C here); otherwise it would be the arrival rate.
  CPU          over the send loop, as % of one core (2 cores = 200): serve's event-loop thread
               (aiohttp, HMAC, parsing bodies) + its other threads (store writer, spool fsync),
               from /proc/<pid>/task/*/stat; this process (the load generator); the whole machine
               (/proc/stat: any process and the kernel's own threads).
Then serve gets SIGTERM (exit time reported), the store is opened with TinyStore: every wamid sent
must be in it exactly once, the spool must hold every body once, webhooks.done must cover them all.

References, at the highest concurrency only, to locate the cost:
  client raw   the same requests written by hand on asyncio streams (HTTP/1.1, keep-alive, one in
               flight per connection, like the httpx client): ~20x less CPU per request than httpx,
               whose own cost (~0.45 ms a request) caps this process at ~2,000 requests/s.
  serve/raw    serve fed by the raw client, then SIGTERM right after the last 200 (no marker):
               how many acknowledged bodies a stop leaves for the next start to apply. The store
               must then hold every message of the bodies up to webhooks.done, and nothing twice.
  receiver     `receiver_app` + `Spool` exactly as serve builds them, nothing applied after the
               200: the receiver alone (httpx and raw clients).
  null         an aiohttp app that reads the body and answers 200 (httpx and raw clients): each
               client's ceiling, and aiohttp's own per-request cost.
  store alone  in this process, --apply-events of the same bodies parsed (`parse_body`), then
               applied one by one to a fresh TinyStore (`TinyStore.apply`), nothing else running.

    /work/venv/bin/python bench/receiver.py [--runs 3] [--webhooks 5000] [--concurrency 1,16,64]
                                            [--customers 500] [--references 1] [--apply-events 2000]

About 2.5-3 minutes with the defaults (most of it waiting for the store to apply the backlog).
Aim (issue): 1,000 accepted webhooks/s on this 2-core machine. Only 127.0.0.1 is used. --sizes is
accepted (bench/run_all.py passes it to every bench) and ignored: the store starts empty.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from seed import CACHE, COUNTRIES, FIRST, LAST, NUMBERS, ROOT, arguments, median, sentence, spread

# httpcore runs `import sniffio` ~4 times a request (httpcore/_synchronization.py,
# current_async_library); sniffio is not installed here, so each is a failed import that searches
# sys.path: 35 us a call, ~0.14 ms of this process's CPU a request. A None in sys.modules makes it
# fail at once (1 us), with the same outcome ("asyncio").
sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

import httpx  # noqa: E402

from desk.models import Customer, Direction, Message, MessageReceived, MessageStatus  # noqa: E402
from emulator.encode import signature, webhook_bytes, webhook_for  # noqa: E402

APP_SECRET = "bench-app-secret"
VERIFY_TOKEN = "bench-verify-token"
ACCESS_TOKEN = "bench-access-token"
WABA = "102290129340398"
PATH = "/webhook"
DISPLAY = {NUMBERS[0]: "+1 555-0100", NUMBERS[1]: "+1 555-0101"}
TICKS = os.sysconf("SC_CLK_TCK")
POLL_DONE = 0.010
POLL_MARKER = 0.002


# --- the webhooks ------------------------------------------------------------------------------------


def customers(count: int, rng: random.Random) -> list[tuple[str, Customer]]:
    """(business number, customer) for `count` customers, half on each number."""
    out = []
    for i in range(count):
        code, country, digits = COUNTRIES[i % len(COUNTRIES)]
        wa_id = f"{code}{(6_900_000_000 + i * 7919) % 10**digits:0{digits}d}"
        out.append((NUMBERS[i % 2], Customer(wa_id, f"{rng.choice(FIRST)} {rng.choice(LAST)}", "+" + wa_id, None, country)))
    return out


def body_for(number: str, customer: Customer, wamid: str, at: datetime, text: str) -> bytes:
    cid = f"{number}~{customer.id}"
    message = Message(wamid, cid, Direction.INBOUND, "text", at, MessageStatus.RECEIVED, text)
    payload = webhook_for([MessageReceived(number, customer, message)], waba_id=WABA, display_numbers=DISPLAY)
    return webhook_bytes(payload)


def make_bodies(count: int, people: int, seed: int) -> tuple[list[str], list[bytes]]:
    """`count` one-message bodies from `people` customers (each customer's messages in time order);
    the text is sized so that a body is about 1 KB, like Meta's."""
    rng = random.Random(seed)
    who = customers(people, rng)
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=count)
    wamids, bodies = [], []
    for i in range(count):
        number, customer = who[rng.randrange(people)] if i >= people else who[i]
        # Meta's ids are base64 of the sender and a random id: the same length, distinct.
        wamid = f"wamid.HBgM{customer.id}FQIAEhgg{seed:04d}{i:06d}{rng.getrandbits(64):016X}"
        wamids.append(wamid)
        bodies.append(body_for(number, customer, wamid, start + timedelta(seconds=i), sentence(rng, 70, 90)))
    return wamids, bodies


def marker_body(seed: int) -> tuple[str, str, bytes]:
    """The body sent after the last 200: (its conversation id, wamid, body); its customer is new."""
    customer = Customer("999000000001", "Bench Marker", "+999000000001", None, None)
    wamid = f"wamid.MARKER{seed:04d}"
    body = body_for(NUMBERS[0], customer, wamid, datetime.now(timezone.utc), "marker")
    return f"{NUMBERS[0]}~{customer.id}", wamid, body


# --- the servers -------------------------------------------------------------------------------------


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
    """A server subprocess: `wadesk serve`, or one of the reference servers (`_server` below)."""

    def __init__(self, kind: str, work: Path, data_dir: Path) -> None:
        env = dict(
            os.environ, WHATSAPP_ACCESS_TOKEN=ACCESS_TOKEN, WHATSAPP_APP_SECRET=APP_SECRET,
            WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN, PYTHONPATH=str(ROOT), XDG_STATE_HOME=str(work / "state"),
        )
        if kind == "serve":
            cmd = [sys.executable, "-m", "tui.cli", "--config", str(write_config(work)), "--data-dir", str(data_dir), "serve"]
        else:
            cmd = [sys.executable, str(Path(__file__).resolve()), "_server", kind, str(data_dir)]
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
            if "receiving webhooks on" in text:
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


def _server(kind: str, data_dir: Path) -> None:
    """A reference server (run as `receiver.py _server <kind> <data_dir>`), until SIGTERM.
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


# --- the load generator ------------------------------------------------------------------------------


def machine_cpu() -> dict[str, float]:
    """CPU seconds of the whole machine so far (/proc/stat): busy (user, system, irq, softirq: any
    process, the kernel's own threads included), iowait and steal (taken by the hypervisor)."""
    fields = [int(x) / TICKS for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, iowait, irq, softirq, steal = fields[:8]
    return {"busy": user + nice + system + irq + softirq, "iowait": iowait, "steal": steal}


class DonePoller(threading.Thread):
    """Reads <data_dir>/webhooks.done every POLL_DONE s: (time, last applied seq)."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(daemon=True)
        self.path = data_dir / "webhooks.done"
        self.samples: list[tuple[float, int]] = []
        self.halt = threading.Event()

    def run(self) -> None:
        last = -1
        while not self.halt.wait(POLL_DONE):
            try:
                value = int(self.path.read_text().strip() or 0)
            except (FileNotFoundError, ValueError):
                continue
            if value != last:
                self.samples.append((time.perf_counter(), value))
                last = value

    def at(self, t: float) -> int:
        return max([v for when, v in self.samples if when <= t], default=0)


class HttpxConnection:
    """One httpx.AsyncClient holding one connection. One client per connection: httpx's pool
    re-examines every connection and every waiting request on each request (encode/httpx#3215,
    encode/httpcore#1035); one pool of 64 connections made this process the bottleneck (~100
    requests/s at 98 % CPU)."""

    _tls = None

    def __init__(self, url: str) -> None:
        if HttpxConnection._tls is None:  # unused (plain http), but each client would load its own: 23 ms
            HttpxConnection._tls = ssl.create_default_context()
        self.url = url
        self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
                                        timeout=60.0, verify=HttpxConnection._tls)

    async def handshake(self) -> bool:
        r = await self.client.get(self.url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN,
                                                    "hub.challenge": "warm"})
        return r.status_code == 200 and r.text == "warm"

    async def post(self, body: bytes, sig: str) -> int:
        r = await self.client.post(self.url, content=body,
                                   headers={"Content-Type": "application/json", "X-Hub-Signature-256": sig})
        return r.status_code

    async def aclose(self) -> None:
        await self.client.aclose()


class RawConnection:
    """HTTP/1.1 by hand on one keep-alive connection (asyncio streams), one request at a time like
    the httpx client: a load generator that costs ~10x less CPU per request (reference only)."""

    def __init__(self, url: str) -> None:
        rest = url.split("://", 1)[1]
        self.hostport, path = rest.split("/", 1)
        self.path = "/" + path
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _exchange(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            host, port = self.hostport.rsplit(":", 1)
            self.reader, self.writer = await asyncio.open_connection(host, int(port))
        self.writer.write(head + body)
        lines = (await self.reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
        length = next(int(v) for k, _, v in (x.partition(b":") for x in lines[1:]) if k.lower() == b"content-length")
        return int(lines[0].split(b" ", 2)[1]), await self.reader.readexactly(length)

    async def handshake(self) -> bool:
        target = f"{self.path}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=warm"
        status, text = await self._exchange(f"GET {target} HTTP/1.1\r\nHost: {self.hostport}\r\n\r\n".encode())
        return status == 200 and text == b"warm"

    async def post(self, body: bytes, sig: str) -> int:
        head = (f"POST {self.path} HTTP/1.1\r\nHost: {self.hostport}\r\nContent-Type: application/json\r\n"
                f"X-Hub-Signature-256: {sig}\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        return (await self._exchange(head, body))[0]

    async def aclose(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


CLIENTS = {"httpx": HttpxConnection, "raw": RawConnection}


async def send_all(server: Server, bodies: list[bytes], concurrency: int, client: str,
                   marker: tuple[Path, bytes] | None) -> dict[str, float]:
    sigs = [signature(b, APP_SECRET) for b in bodies]
    n = len(bodies)
    sent, answered = [0.0] * n, [0.0] * n
    out: dict[str, float] = {}
    connections = [CLIENTS[client](server.url) for _ in range(concurrency)]
    try:
        warm = await asyncio.gather(*(c.handshake() for c in connections))  # opens every connection
        assert all(warm), warm
        queue = iter(range(n))
        bad: list[tuple[int, int]] = []

        async def worker(connection) -> None:
            for i in queue:  # shared: each index is taken once
                t = time.perf_counter()
                status = await connection.post(bodies[i], sigs[i])
                answered[i] = time.perf_counter()
                sent[i] = t
                if status != 200:
                    bad.append((i, status))

        cpu0, client0, machine0 = server.cpu(), time.process_time(), machine_cpu()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in connections))
        t_last = max(answered)
        cpu1, client1, machine1 = server.cpu(), time.process_time(), machine_cpu()
        if bad:
            raise AssertionError(f"{len(bad)} answers were not 200, e.g. {bad[:5]}")
        if marker is not None:
            shard, body = marker
            status = await connections[0].post(body, signature(body, APP_SECRET))
            assert status == 200, status
            deadline = time.perf_counter() + 120
            while not shard.exists():
                if time.perf_counter() > deadline:
                    raise TimeoutError("the marker never reached the store")
                await asyncio.sleep(POLL_MARKER)
            out["visible"] = time.perf_counter()
    finally:
        await asyncio.gather(*(c.aclose() for c in connections))
    latencies = sorted((a - s) * 1000 for s, a in zip(sent, answered))
    span = t_last - t0
    out.update(
        t0=t0, t_last=t_last, t_first_200=min(answered), wall=span, rate=n / span,
        p50=median(latencies), p95=latencies[int(0.95 * (n - 1))], p99=latencies[int(0.99 * (n - 1))],
        cpu_main=(cpu1[0] - cpu0[0]) / span * 100, cpu_other=(cpu1[1] - cpu0[1]) / span * 100,
        cpu_client=(client1 - client0) / span * 100,
        **{f"machine_{k}": (machine1[k] - machine0[k]) / span * 100 for k in machine0},
    )
    return out


# --- one run -----------------------------------------------------------------------------------------


def one_run(kind: str, concurrency: int, client: str, wamids: list[str], bodies: list[bytes], seed: int) -> dict[str, float]:
    """One server process, one send loop. serve with httpx waits for the marker (ingest lag); serve
    with the raw client is stopped right after the last 200 instead (what SIGTERM leaves behind)."""
    from desk.store.tiny.shard import shard_path

    work = Path(tempfile.mkdtemp(prefix=f"receiver-{kind}-c{concurrency}-", dir=CACHE / "work"))
    data_dir = work / "data"
    server = Server(kind, work, data_dir)
    poller = None
    drain = kind == "serve" and client == "httpx"
    try:
        marker = marker_wamid = None
        if drain:
            cid, marker_wamid, body = marker_body(seed)
            marker = (shard_path(data_dir / "conversations", cid), body)
            poller = DonePoller(data_dir)
            poller.start()
        r = asyncio.run(send_all(server, bodies, concurrency, client, marker))
        if poller is not None:
            poller.halt.set()
            poller.join()
            n = len(bodies)
            r["backlog"] = n - poller.at(r["t_last"])
            r["lag"] = r["visible"] - r["t_last"]
            r["apply_rate"] = (n + 1) / (r["visible"] - r["t_first_200"])
        r["stop"] = server.stop()
        left = verify(kind, data_dir, wamids, bodies, marker_wamid)
        if kind == "serve" and not drain:
            r["left"] = left
        return r
    finally:
        server.kill()
        shutil.rmtree(work, ignore_errors=True)


def verify(kind: str, data_dir: Path, wamids: list[str], bodies: list[bytes], marker_wamid: str | None) -> int:
    """Every body that got its 200 is where it must be: in the spool (each exactly once), and for
    serve in the store, every message once, or (stopped without waiting) every message of a body
    up to webhooks.done. Returns how many bodies were left for the next start to apply."""
    from backends.cloud import spool

    if kind == "null":
        return 0
    records = spool.read(data_dir / "webhooks.spool").records
    spooled = [body for _, body in records]
    extra = [] if marker_wamid is None else spooled[len(bodies):]
    assert sorted(spooled[: len(bodies)]) == sorted(bodies) and len(extra) <= 1, "the spool does not hold every body once"
    if kind == "receiver":
        return 0
    from desk.store.tiny import TinyStore

    done = int((data_dir / "webhooks.done").read_text())
    index = {body: k for k, body in enumerate(bodies)}
    applied = {wamids[index[body]] for seq, body in records if seq <= done and body in index}
    store = TinyStore(data_dir)
    store.open()
    try:
        stored = [m.id for c in store.conversations() for m in store.messages(c.id)]
    finally:
        store.close()
    assert len(stored) == len(set(stored)), "a message is in the store twice"
    missing = applied - set(stored)
    assert not missing, f"{len(missing)} messages of bodies marked done are not in the store, e.g. {sorted(missing)[:3]}"
    if marker_wamid is not None:
        expected = set(wamids) | {marker_wamid}
        assert done == len(bodies) + 1, f"webhooks.done is {done}, expected {len(bodies) + 1}"
        assert set(stored) == expected, f"store holds {len(stored)} messages, expected {len(expected)}"
    return len(records) - done


def store_alone(bodies: list[bytes], run: int) -> dict[str, float]:
    """Parse the bodies, then apply their events to a fresh TinyStore, in this process."""
    from backends.cloud.webhook import parse_body
    from desk.store.tiny import TinyStore

    work = Path(tempfile.mkdtemp(prefix=f"receiver-store-{run}-", dir=CACHE / "work"))
    try:
        t = time.perf_counter()
        events = [e for b in bodies for e in parse_body(b).events]
        parse = time.perf_counter() - t
        assert len(events) == len(bodies)
        store = TinyStore(work / "data")
        store.open()
        t = time.perf_counter()
        for event in events:
            store.apply(event)
        apply = time.perf_counter() - t
        store.close()
        return {"parse_rate": len(bodies) / parse, "apply_rate": len(bodies) / apply, "apply_ms": apply / len(bodies) * 1000}
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- main ----------------------------------------------------------------------------------------------


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        webhooks=(int, 5000, "signed webhook bodies per run"),
        concurrency=(str, "1,16,64", "requests in flight, comma separated (the reference servers use the highest)"),
        customers=(int, 500, "distinct customers the messages come from"),
        references=(int, 1, "1: also the raw client, the receiver-only and null servers, the store alone; 0: no"),
        apply_events=(int, 2000, "events applied per run by the store alone"),
    )
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    (CACHE / "work").mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    wamids, bodies = make_bodies(args.webhooks, args.customers, seed=1)
    sizes = [len(b) for b in bodies]
    print(f"[receiver] {len(bodies)} bodies, {median(sizes):.0f} B median ({min(sizes)}-{max(sizes)}), "
          f"{args.customers} customers, {os.cpu_count()} CPUs", flush=True)
    top = max(levels)
    plan = [("serve", c, "httpx") for c in levels]
    if args.references:
        plan += [("serve", top, "raw"), ("receiver", top, "httpx"), ("receiver", top, "raw"), ("null", top, "httpx"),
                 ("null", top, "raw")]
    results: dict[tuple[str, int, str], list[dict[str, float]]] = {key: [] for key in plan}
    for run in range(args.runs):
        # Distinct wamids in every run (each run has a fresh store anyway).
        run_wamids, run_bodies = (wamids, bodies) if run == 0 else make_bodies(args.webhooks, args.customers, seed=run + 1)
        for kind, c, client in plan:
            r = one_run(kind, c, client, run_wamids, run_bodies, seed=run + 1)
            results[(kind, c, client)].append(r)
            line = (f"  {kind:>8}/{client:<5} C={c:<3} run {run + 1}: {r['rate']:5.0f} accepted/s, {r['wall']:5.2f} s; "
                    f"200 in {r['p50']:.1f}/{r['p95']:.1f}/{r['p99']:.1f} ms; "
                    f"CPU serve {r['cpu_main']:.0f}+{r['cpu_other']:.0f}%, client {r['cpu_client']:.0f}%, "
                    f"machine {r['machine_busy']:.0f}% of 200 (steal {r['machine_steal']:.0f}, iowait {r['machine_iowait']:.0f})")
            if "lag" in r:
                line += (f"; backlog {r['backlog']:.0f}, lag {r['lag']:.2f} s, apply {r['apply_rate']:.0f}/s, "
                         f"stop {r['stop'] * 1000:.0f} ms; store verified")
            elif "left" in r:
                line += f"; SIGTERM at the last 200: exit in {r['stop'] * 1000:.0f} ms, {r['left']} bodies left unapplied"
            print(line, flush=True)
    alone = []
    if args.references:
        for run in range(args.runs):
            r = store_alone(bodies[: args.apply_events], run)
            alone.append(r)
            print(f"  store alone run {run + 1}: parse {r['parse_rate']:.0f} bodies/s, apply {r['apply_rate']:.0f}/s "
                  f"({r['apply_ms']:.2f} ms each)", flush=True)

    print(f"\nreceiver: {args.webhooks} webhooks x {args.runs} runs, median [min-max] of the runs; "
          f"total {time.perf_counter() - started:.0f} s")
    print(f"{'server/client':>14} {'C':>3} | {'accepted/s':>16} | {'200 p50 ms':>16} | {'p95 ms':>16} | "
          f"{'p99 ms':>16} | {'backlog':>16} | {'ingest lag s':>16} | {'apply/s':>14} | "
          "CPU, % of one core: serve loop + threads | client | machine (of 200)")
    for (kind, c, client), rs in results.items():
        col = lambda k, fmt="{:.2f}": spread([r[k] for r in rs], fmt)  # noqa: E731
        serve = "lag" in rs[0]
        cpu = lambda k: f"{median([r[k] for r in rs]):.0f}"  # noqa: E731
        print(f"{kind + '/' + client:>14} {c:>3} | {col('rate', '{:.0f}'):>16} | {col('p50', '{:.1f}'):>16} | "
              f"{col('p95', '{:.1f}'):>16} | {col('p99', '{:.1f}'):>16} | {col('backlog', '{:.0f}') if serve else '-':>16} | "
              f"{col('lag') if serve else '-':>16} | {col('apply_rate', '{:.0f}') if serve else '-':>14} | "
              f"{cpu('cpu_main')} + {cpu('cpu_other')} | {cpu('cpu_client')} | {cpu('machine_busy')}")
    stopped = results.get(("serve", top, "raw"))
    if stopped:
        print(f"serve/raw, SIGTERM right after the last 200: {spread([r['left'] for r in stopped], '{:.0f}')} of "
              f"{args.webhooks} bodies left for the next start to apply; exit in "
              f"{spread([r['stop'] * 1000 for r in stopped], '{:.0f}')} ms")
    if alone:
        print(f"store alone (this process, nothing else running): parse {spread([r['parse_rate'] for r in alone], '{:.0f}')} "
              f"bodies/s; apply {spread([r['apply_rate'] for r in alone], '{:.0f}')} events/s "
              f"({spread([r['apply_ms'] for r in alone], '{:.2f}')} ms each)")
    best = median([r["rate"] for r in results[("serve", top, "httpx")]])
    line = f"aim 1,000 accepted/s: serve with httpx at C={top} {best:.0f}/s ({'met' if best >= 1000 else 'NOT met'})"
    if stopped:
        line += f"; serve with the raw client {median([r['rate'] for r in stopped]):.0f}/s (the receiver's own capacity)"
    print(line)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "_server":
        _server(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
