"""Team mode's figures (issue 9): 2 hub replicas on one PostgreSQL, 20 event-stream clients, signed
webhooks at a target rate; the embedded desk's ingest at the same rate in the same run.

The cluster (bench/team_cluster.py): a private PostgreSQL 15 (tests/postgres_server.py, fsync on),
`wadesk hub migrate`, `wadesk hub add-agent bench --role admin` (its token for every client), two
`wadesk hub` processes (cloud backend, secrets in the environment, [hub] listen on two loopback
ports, [webhook] path). --clients event streams (bench/team_sse.py), alternately on each replica,
from Last-Event-ID 0, read in this process. The load (bench/team_load.py, a process of its own):
signed ~1 KB bodies of Meta's shape, one inbound message each, from --customers customers, body i
due at t0 + i/rate (open loop), to replica i % 2 (a round-robin balancer), --connections keep-alive
connections. A warm-up of --warmup seconds first (not counted).

Per target rate (--rates, each for --seconds):
  accepted/s     200s per window of the blast (10 s windows; shorter in --quick), median [min-max]:
                 "sustained" means every window holds the rate.
  200 p50/p99    request sent -> 200 read (the hub's answer: signature, the body committed to
                 webhook_inbox, 200). due->200 p99: from when the body was due (counts the
                 generator's own queueing when the hub falls behind: no coordinated omission).
  not sent       bodies still waiting for a connection 1 s after the blast's end (the hubs fell
                 behind; the generator stops there rather than stretch the blast).
  errors         answers other than 200, and connections that failed.
  backlog        unapplied inbox rows, sampled each second (max during the blast).
  drain s        last 200 -> every inbox row applied (every body of the blast must be in
                 webhook_inbox once, applied: checked by its dedupe key).
  commit->event  for every event of the blast on every client: its arrival (wall clock) minus its
                 events.committed_at (the store's clock, stamped in the committing transaction: the
                 same machine's clock). p50, p99, max over all clients.
  200->event     the k-th event of a conversation paired with the k-th 200 of a body of that
                 conversation (one event per inbound message): arrival minus that 200. For the record.
  CPU            over the blast, % of one core: both replicas, the PostgreSQL server, the machine;
                 and per webhook accepted, from the blast's start until every client holds every
                 event: the replicas, PostgreSQL, the load generator, the clients (this process).
Embedded: `wadesk serve` (bench/receiver_servers.py, the TinyDB store) fed by the same generator at
the highest rate for --embedded-seconds (bench/ingest.py's pacing and connections, with this bench's
columns); drain: last 200 -> a marker body sent after it is in the store (serve applies in arrival
order); then every message answered 200 must be in the store once.

Catch-up: after the blasts, a new client with Last-Event-ID = last - --catchup connects (the others
still connected); time until it holds the last event; --runs runs, alternately on each replica,
with this bench's raw reader and with the desk's own HubClient.events (httpx-sse).

Memory: a third replica, fresh, with 0 then --idle (e.g. 100,500) idle event streams (from the
last event: nothing to catch up): its RSS, and every PostgreSQL process's PSS (a stream holds no
connection of its own: one listening connection a replica, desk/store/pg/tail.py).

    python bench/team.py [--rates 1000,1500] [--seconds 60] [--clients 20] [--runs 5] [--quick]
                         [--profile DIR]   (py-spy record of replica a during the fastest blast: what holds the GIL)

Aims (issue 9): 1,000 webhooks/s sustained for 60 s, commit->event p99 <= 100 ms on every client,
a client that missed 10,000 events caught up in <= 2 s. Only 127.0.0.1 is used. --sizes is
accepted (bench/run_all.py passes it to every bench) and ignored.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psycopg
from receiver_bodies import APP_SECRET, marker_body
from receiver_clients import RawConnection
from receiver_servers import Server, machine_cpu
from seed import CACHE, ROOT, arguments, median, spread, stored_ids
from team_cluster import Replica, database, postgres_memory, postmaster, prepare, tree_cpu
from team_load import NOT_SENT
from team_sse import Follower

from emulator.encode import signature

PY_SPY = Path(sys.executable).with_name("py-spy")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * (len(ordered) - 1)))] if ordered else float("nan")


async def load(urls: list[str], rate: float, seconds: float, seed: int, args, work: Path) -> dict:
    """Run bench/team_load.py to its end; its per-body results."""
    out = work / f"load-{seed}.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("team_load.py")), str(out), "--urls", ",".join(urls),
        "--rate", str(rate), "--seconds", str(seconds), "--connections", str(args.connections),
        "--customers", str(args.customers), "--seed", str(seed),
        env=dict(os.environ, PYTHONPATH=str(ROOT)), stdout=asyncio.subprocess.DEVNULL,
    )
    if await process.wait() != 0:
        raise RuntimeError(f"the load generator failed ({process.returncode})")
    return orjson.loads(out.read_bytes())


def ingest_figures(r: dict, window: float) -> dict[str, float]:
    ok = [i for i, s in enumerate(r["status"]) if s == 200]
    unsent = r["status"].count(NOT_SENT)
    t0 = min(d for d, s in zip(r["due"], r["status"]) if s != NOT_SENT)
    answered = [r["answered"][i] for i in ok]
    windows = [0] * max(1, int((max(answered) - t0) // window) if answered else 1)
    for t in answered:
        k = int((t - t0) // window)
        if k < len(windows):
            windows[k] += 1
    return {
        "n": len(r["status"]), "ok": len(ok), "unsent": unsent, "errors": len(r["status"]) - len(ok) - unsent,
        "rate": len(ok) / (max(answered) - t0) if answered else 0.0,
        "windows": [w / window for w in windows],
        "p50": pct([(r["answered"][i] - r["sent"][i]) * 1000 for i in ok], 0.50),
        "p99": pct([(r["answered"][i] - r["sent"][i]) * 1000 for i in ok], 0.99),
        "due_p99": pct([(r["answered"][i] - r["due"][i]) * 1000 for i in ok], 0.99),
        "last_200": max(answered) if answered else 0.0,
    }


async def unapplied(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT count(*) FROM webhook_inbox WHERE applied_at IS NULL")
    row = await cur.fetchone()
    return int(row[0]) if row else -1


async def last_seq(conn: psycopg.AsyncConnection) -> int:
    cur = await conn.execute("SELECT coalesce(max(seq), 0) FROM events")
    row = await cur.fetchone()
    return int(row[0]) if row else 0


async def drained(conn: psycopg.AsyncConnection, limit: float = 600.0) -> float:
    """Wall time at which no inbox row is left unapplied (polled every 20 ms)."""
    deadline = time.monotonic() + limit
    while await unapplied(conn):
        if time.monotonic() > deadline:
            raise TimeoutError("the inbox never drained")
        await asyncio.sleep(0.02)
    return time.time()


class Doorbell:
    """This process LISTENing on the event log's channel: each notification's seq (the last of its
    transaction) and when it was heard. PostgreSQL delivers a NOTIFY at its transaction's commit,
    so the first bell at or above a seq is when that seq committed (heard ~1 ms later, by a reader
    on the same loop as the clients: it makes commit->event smaller by that much, never larger).
    events.committed_at is the store's clock at the start of the writing transaction (a batch of
    the applier's: up to 64 bodies), before its work, not at its commit."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.seqs: list[int] = []
        self.times: list[float] = []
        self.listening = asyncio.Event()

    async def run(self) -> None:
        from desk.store.pg.events import CHANNEL

        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            async for note in conn.notifies():
                self.times.append(time.time())
                self.seqs.append(int(note.payload))

    def committed(self, seq: int) -> float:
        return self.times[bisect.bisect_left(self.seqs, seq)]


def cpu_now(replicas: list[Replica], server: int) -> tuple[float, float, float, float, float, float]:
    """(now, CPU seconds so far of: the replicas, PostgreSQL, the machine, the load generators
    that ended, this process: the clients)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (time.perf_counter(), sum(sum(r.cpu()) for r in replicas), tree_cpu(server), machine_cpu()["busy"],
            children.ru_utime + children.ru_stime, time.process_time())


async def blast(rate: float, seconds: float, seed: int, replicas: list[Replica], followers: list[Follower],
                conn: psycopg.AsyncConnection, args, work: Path) -> dict[str, float | str]:
    start = await last_seq(conn)
    backlog: list[int] = []
    spy = None
    if args.profile is not None and rate == max(args.rates):
        args.profile.mkdir(parents=True, exist_ok=True)
        spy = subprocess.Popen([str(PY_SPY), "record", "--pid", str(replicas[0].process.pid), "--rate", "50",
                                "--duration", str(int(min(seconds, 30))), "--format", "raw", "--nonblocking", "--gil",
                                "-o", str(args.profile / f"replica-a-{rate:.0f}.txt")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bell = Doorbell(conn.info.dsn)
    ringing = asyncio.create_task(bell.run())
    await asyncio.wait_for(bell.listening.wait(), 10)
    before = cpu_now(replicas, args.postmaster)
    task = asyncio.create_task(load([r.url for r in replicas], rate, seconds, seed, args, work))
    while not task.done():
        backlog.append(await unapplied(conn))
        await asyncio.wait({task}, timeout=1.0)
    after = cpu_now(replicas, args.postmaster)
    r = task.result()
    figures: dict = ingest_figures(r, args.window)
    end_of_load = await unapplied(conn)
    done_at = await drained(conn)
    if spy is not None:
        spy.wait()
    keys = [bytes.fromhex(k) for k, s in zip(r["key"], r["status"]) if s == 200]
    cur = await conn.execute("SELECT count(*), count(applied_at) FROM webhook_inbox WHERE dedupe_key = ANY(%s)", (keys,))
    kept, applied = await cur.fetchone() or (0, 0)
    assert kept == applied == len(keys), f"{kept} kept, {applied} applied of {len(keys)} bodies answered 200"
    end = await last_seq(conn)
    reached = [f.wait_for(end) for f in followers]
    waited = asyncio.gather(*(e.wait() for e in reached))
    try:
        await asyncio.wait_for(waited, 300)
    except TimeoutError:
        raise AssertionError(f"clients stuck at {[f.last for f in followers]}, last event {end}") from None
    settled = cpu_now(replicas, args.postmaster)
    cost = [(settled[k] - before[k]) / figures["ok"] * 1000 for k in range(1, 6)]
    cur = await conn.execute(
        "SELECT seq, extract(epoch FROM committed_at)::float8, conversation_id FROM events WHERE seq > %s AND seq <= %s "
        "ORDER BY seq", (start, end))
    rows = await cur.fetchall()
    ringing.cancel()
    stamped = {int(s): float(at) for s, at, _ in rows}
    committed = {int(s): bell.committed(int(s)) for s, _, _ in rows}
    # 200 -> event: the k-th event of a conversation with the k-th 200 of a body of it.
    oks: dict[str, list[float]] = {}
    for cid, status, t in zip(r["conversation"], r["status"], r["answered"]):
        if status == 200:
            oks.setdefault(cid, []).append(t)
    for times in oks.values():
        times.sort()
    paired: dict[int, float] = {}
    seen: dict[str, int] = {}
    for s, _, cid in rows:
        k = seen.get(cid, 0)
        seen[cid] = k + 1
        if cid in oks and k < len(oks[cid]):
            paired[int(s)] = oks[cid][k]
    unpaired = sum(abs(len(oks.get(c, [])) - n) for c, n in seen.items())
    if args.dump is not None:  # for a closer look at where the latency is (per client, over time)
        args.dump.mkdir(parents=True, exist_ok=True)
        (args.dump / f"blast-{rate:.0f}.json").write_bytes(orjson.dumps({
            "committed": committed, "stamped": stamped, "conversation": {int(s): c for s, _, c in rows},
            "clients": [{"base": f.hostport, "seqs": [x for x in f.seqs if start < x <= end],
                         "times": [t for x, t in zip(f.seqs, f.times) if start < x <= end]} for f in followers],
        }, option=orjson.OPT_NON_STR_KEYS))
    to_event, from_stamp, from_200 = [], [], []
    for f in followers:
        got = [s for s in f.seqs if start < s <= end]
        assert got == list(range(start + 1, end + 1)), f"a client did not get every event once, in order ({len(got)})"
        for s, t in zip(f.seqs, f.times):
            if start < s <= end:
                to_event.append((t - committed[s]) * 1000)
                from_stamp.append((t - stamped[s]) * 1000)
                if s in paired:
                    from_200.append((t - paired[s]) * 1000)
    expected = (end - start) * len(followers)
    assert len(to_event) == expected, f"{len(to_event)} events arrived of {expected} ({end - start} x {len(followers)})"
    span = after[0] - before[0]
    figures.update(
        label=f"hub x{len(replicas)}, {len(followers)} clients", target=rate, backlog_max=max(backlog, default=0),
        backlog_end=end_of_load, drain=max(0.0, done_at - figures["last_200"]), events=end - start,
        ev_p50=pct(to_event, 0.5), ev_p99=pct(to_event, 0.99), ev_max=max(to_event, default=float("nan")),
        st_p50=pct(from_stamp, 0.5), st_p99=pct(from_stamp, 0.99), ok_p50=pct(from_200, 0.5), ok_p99=pct(from_200, 0.99), unpaired=unpaired,
        cpu_hubs=(after[1] - before[1]) / span * 100, cpu_pg=(after[2] - before[2]) / span * 100,
        cpu_machine=(after[3] - before[3]) / span * 100,
        ms_hubs=cost[0], ms_pg=cost[1], ms_machine=cost[2], ms_load=cost[3], ms_clients=cost[4],
    )
    return figures


async def catch_up(replicas: list[Replica], token: str, conn: psycopg.AsyncConnection, missed: int, runs: int
                   ) -> dict[str, list[float]]:
    from backends.hub.client import HubClient

    end = await last_seq(conn)
    after = max(0, end - missed)
    if end - after < missed:
        print(f"  (only {end - after} events in the log: the catch-up is of those)", flush=True)
    args_missed = end - after
    times: dict[str, list[float]] = {"raw": [], "HubClient": []}
    for run in range(runs):
        replica = replicas[run % len(replicas)]
        follower = Follower(replica.base, token, after)
        reached = follower.wait_for(end)
        t = time.perf_counter()
        reading = asyncio.create_task(follower.run())
        await asyncio.wait_for(reached.wait(), 120)
        times["raw"].append(time.perf_counter() - t)
        follower.close()
        await asyncio.gather(reading, return_exceptions=True)
        assert list(follower.seqs) == list(range(after + 1, end + 1)), "the raw client did not get exactly the missed events"
        client = HubClient(replica.base, token)
        got = 0
        t = time.perf_counter()
        async with contextlib.aclosing(client.events(after)) as changes:
            async for change in changes:
                if getattr(change, "seq", None) is not None:
                    got += 1
                    if change.seq >= end:
                        break
        times["HubClient"].append(time.perf_counter() - t)
        client.close()
        assert got == end - after, f"HubClient.events gave {got} of {end - after} missed events"
    times["missed"] = [float(args_missed)]
    return times


async def memory(work: Path, conninfo: str, token: str, conn: psycopg.AsyncConnection, levels: list[int]
                 ) -> list[tuple[int, int, int, int]]:
    """(idle streams, the fresh replica's RSS, PostgreSQL backends, PostgreSQL's PSS) at each level."""
    replica = Replica("c", work, conninfo)
    end = await last_seq(conn)
    followers: list[Follower] = []
    tasks: list[asyncio.Task[None]] = []
    out = []
    try:
        for level in [0, *levels]:
            while len(followers) < level:
                f = Follower(replica.base, token, end)
                followers.append(f)
                tasks.append(asyncio.create_task(f.run()))
            await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in followers)), 120)
            await asyncio.sleep(2.0)  # every follower's LISTEN and first read done
            backends, pss = postgres_memory(postmaster(conninfo))
            out.append((level, replica.rss(), backends, pss))
    finally:
        for f in followers:
            f.close()
        await asyncio.gather(*tasks, return_exceptions=True)
        replica.stop()
    return out


async def embedded(rate: float, seconds: float, args, work: Path) -> dict[str, float | str]:
    """`wadesk serve` on a fresh data directory at the same rate; drain until a marker is stored."""
    from desk.store.tiny.files import shard_path

    data_dir = work / "embedded"
    server = Server("serve", work, data_dir)
    try:
        pid = server.process.pid
        load0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t_cpu = (time.perf_counter(), tree_cpu(pid), machine_cpu()["busy"])
        r = await load([server.url], rate, seconds, 90, args, work)
        t_cpu_end = (time.perf_counter(), tree_cpu(pid), machine_cpu()["busy"])
        figures: dict = ingest_figures(r, args.window)
        cid, marker, body = marker_body(90)
        connection = RawConnection(server.url)
        assert await connection.post(body, signature(body, APP_SECRET)) == 200
        await connection.aclose()
        shard = shard_path(data_dir / "conversations", cid)
        deadline = time.monotonic() + 600
        while not shard.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the marker never reached the embedded store")
            await asyncio.sleep(0.01)
        settled = (tree_cpu(pid), machine_cpu()["busy"], resource.getrusage(resource.RUSAGE_CHILDREN))
        span = t_cpu_end[0] - t_cpu[0]
        n = figures["ok"]
        figures.update(label="embedded serve", target=rate, drain=time.time() - figures["last_200"],
                       cpu_hubs=(t_cpu_end[1] - t_cpu[1]) / span * 100, cpu_machine=(t_cpu_end[2] - t_cpu[2]) / span * 100,
                       ms_hubs=(settled[0] - t_cpu[1]) / n * 1000, ms_machine=(settled[1] - t_cpu[2]) / n * 1000,
                       ms_load=(settled[2].ru_utime + settled[2].ru_stime - load0.ru_utime - load0.ru_stime) / n * 1000)
        server.stop()
        stored = stored_ids(data_dir)
        expected = {w for w, status in zip(r["wamid"], r["status"]) if status == 200} | {marker}
        assert len(stored) == len(set(stored)) and set(stored) == expected, (
            f"the embedded store holds {len(set(stored))} messages ({len(stored)} with copies), expected {len(expected)}")
        return figures
    finally:
        server.kill()


def create_database(server_info: str) -> None:
    with psycopg.connect(server_info, autocommit=True) as admin:
        admin.execute("CREATE DATABASE bench")


async def background(seconds: float) -> float:
    """How busy the machine is without this bench: % of one core over `seconds`."""
    before, t = machine_cpu()["busy"], time.perf_counter()
    await asyncio.sleep(seconds)
    return (machine_cpu()["busy"] - before) / (time.perf_counter() - t) * 100


async def run(args) -> None:
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="team-", dir=CACHE / "work"))
    results: list[dict] = []
    quiet = await background(1.0 if args.quick else 5.0)
    print(f"[team] the machine before the run: {quiet:.0f}% of 200 busy (other work on it)", flush=True)
    try:
        with database(max_connections=max([0, *args.idle]) + 200) as server_info:
            create_database(server_info)
            conninfo = server_info.replace("dbname=postgres", "dbname=bench")
            token = prepare(conninfo, work)
            args.postmaster = postmaster(conninfo)
            replicas = [Replica(name, work, conninfo) for name in ("a", "b")]
            print(f"[team] PostgreSQL {server_info.split()[1]}, replicas on {', '.join(r.base for r in replicas)}, "
                  f"{os.cpu_count()} CPUs", flush=True)
            followers = [Follower(replicas[k % len(replicas)].base, token, 0) for k in range(args.clients)]
            reading = [asyncio.create_task(f.run()) for f in followers]
            try:
                await asyncio.wait_for(asyncio.gather(*(f.connected.wait() for f in followers)), 60)
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    if args.warmup:
                        await load([r.url for r in replicas], min(args.rates), args.warmup, 100, args, work)
                        await drained(conn)
                    for k, rate in enumerate(args.rates):
                        f = await blast(rate, args.seconds, k + 1, replicas, followers, conn, args, work)
                        results.append(f)
                        print(f"  {f['label']} @ {rate:.0f}/s: {f['ok']} of {f['n']} answered 200 "
                              f"({f['rate']:.0f}/s; windows {', '.join(f'{w:.0f}' for w in f['windows'])}), {f['unsent']} not sent "
                              f"(behind at the end), {f['errors']} errors; 200 p50/p99 {f['p50']:.1f}/{f['p99']:.1f} ms, due->200 p99 "
                              f"{f['due_p99']:.0f} ms; backlog max {f['backlog_max']}, {f['backlog_end']} at the end, "
                              f"drained {f['drain']:.2f} s after the last 200; {f['events']} events x {len(followers)} "
                              f"clients, commit->event p50/p99/max {f['ev_p50']:.1f}/{f['ev_p99']:.1f}/{f['ev_max']:.0f} ms, "
                              f"committed_at->event p50/p99 {f['st_p50']:.0f}/{f['st_p99']:.0f} ms, "
                              f"200->event p50/p99 {f['ok_p50']:.0f}/{f['ok_p99']:.0f} ms ({f['unpaired']} unpaired); "
                              f"CPU hubs {f['cpu_hubs']:.0f}%, PostgreSQL {f['cpu_pg']:.0f}%, machine "
                              f"{f['cpu_machine']:.0f}% of 200", flush=True)
                    catchup = await catch_up(replicas, token, conn, args.catchup, args.runs)
                    args.catchup = int(catchup.pop("missed")[0])
                    for name, ts in catchup.items():
                        print(f"  catch-up of {args.catchup} events, {name}: "
                              f"{', '.join(f'{t:.2f}' for t in ts)} s", flush=True)
                    idle = await memory(work, conninfo, token, conn, args.idle)
            finally:
                for f in followers:
                    f.close()
                await asyncio.gather(*reading, return_exceptions=True)
                stops = [r.stop() for r in replicas]  # raises unless it exits 0
                print(f"  replicas stopped by SIGTERM, exit 0, in {', '.join(f'{t:.1f}' for t in stops)} s", flush=True)
        e = await embedded(max(args.rates), args.embedded_seconds, args, work)
        print(f"  embedded serve @ {e['target']:.0f}/s: {e['ok']} of {e['n']} answered 200 ({e['rate']:.0f}/s; windows "
              f"{', '.join(f'{w:.0f}' for w in e['windows'])}), {e['unsent']} not sent, {e['errors']} errors; 200 p50/p99 {e['p50']:.1f}/"
              f"{e['p99']:.1f} ms; applied {e['drain']:.2f} s after the last 200", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(args, results, e, catchup, idle, time.perf_counter() - started, quiet)


def report(args, results: list[dict], e: dict, catchup: dict[str, list[float]],
           idle: list[tuple[int, int, int, int]], total: float, quiet: float) -> None:
    print(f"\nteam: {len(results)} blast(s) of {args.seconds:.0f} s, 2 replicas, {args.clients} clients, "
          f"{os.cpu_count()} CPUs shared by everything (load generator, clients, hubs, PostgreSQL); "
          f"windows of {args.window:.0f} s; {quiet:.0f}% of 200 busy before the run; total {total:.0f} s")
    print(f"{'ingest':>26} | {'target/s':>8} | {'accepted/s':>18} | {'not sent':>8} | {'errors':>6} | {'200 p50 ms':>10} | "
          f"{'200 p99 ms':>10} | {'due->200 p99':>12} | {'drain s':>7} | {'commit->event p50':>17} | {'p99 ms':>8} | "
          f"{'max ms':>7} | {'committed_at->event p99':>23} | {'200->event p50':>14} | {'p99 ms':>8} | "
          "CPU % of one core: servers | PostgreSQL | machine")
    for f in [*results, e]:
        hub = "ev_p50" in f
        cell = lambda k, fmt: fmt.format(f[k]) if k in f else "-"  # noqa: E731
        print(f"{f['label']:>26} | {f['target']:>8.0f} | {spread(f['windows'], '{:.0f}'):>18} | {f['unsent']:>8} | {f['errors']:>6} | "
              f"{f['p50']:>10.1f} | {f['p99']:>10.1f} | {f['due_p99']:>12.0f} | {f['drain']:>7.2f} | "
              f"{cell('ev_p50', '{:.1f}'):>17} | {cell('ev_p99', '{:.1f}'):>8} | {cell('ev_max', '{:.0f}'):>7} | "
              f"{cell('st_p99', '{:.0f}'):>23} | {cell('ok_p50', '{:.0f}'):>14} | {cell('ok_p99', '{:.0f}'):>8} | {f['cpu_hubs']:.0f} | "
              f"{cell('cpu_pg', '{:.0f}') if hub else '-'} | {f['cpu_machine']:.0f}")
    print(f"\n{'CPU ms per webhook':>26} | {'servers':>7} | {'PostgreSQL':>10} | {'load generator':>14} | "
          f"{'clients':>7} | {'machine':>7} | 2-core ceiling/s (2,000 ms / the sum of the four)")
    for f in [*results, e]:
        parts = [f.get(k, 0.0) for k in ("ms_hubs", "ms_pg", "ms_load", "ms_clients")]
        cell = lambda k: f"{f[k]:.2f}" if k in f else "-"  # noqa: E731
        print(f"{f['label']:>26} | {cell('ms_hubs'):>7} | {cell('ms_pg'):>10} | {cell('ms_load'):>14} | "
              f"{cell('ms_clients'):>7} | {cell('ms_machine'):>7} | {2000 / sum(parts):.0f}")
    print(f"\n{'catch-up':>26} | {'missed':>6} | {'seconds':>18} | events/s")
    for name, ts in catchup.items():
        print(f"{name:>26} | {args.catchup:>6} | {spread(ts):>18} | {args.catchup / median(ts):.0f}")
    base = idle[0]
    print(f"\n{'idle event streams':>26} | {'hub RSS MB':>10} | {'hub KB each':>11} | {'PG backends':>11} | "
          f"{'PG PSS MB':>9} | {'PG KB each':>10}")
    for n, rss, backends, pss in idle:
        each = lambda now, then: f"{(now - then) / n / 1024:.0f}" if n else "-"  # noqa: E731
        print(f"{f'{n} streams':>26} | {rss / 2**20:>10.1f} | {each(rss, base[1]):>11} | {backends:>11} | "
              f"{pss / 2**20:>9.1f} | {each(pss, base[3]):>10}")
    for hub in results:
        held = (hub["errors"] == hub["unsent"] == 0 and hub["rate"] >= hub["target"] * 0.99
                and min(hub["windows"]) >= hub["target"] * 0.95)
        print(f"aim {hub['target']:.0f} webhooks/s sustained {args.seconds:.0f} s: {'met' if held else 'NOT met'} "
              f"(every body sent and answered 200, >= 99 % of the rate overall, every window >= 95 %); commit->event p99 <= 100 ms: "
              f"{'met' if hub['ev_p99'] <= 100 else 'NOT met'} ({hub['ev_p99']:.0f} ms)")
    top = next(h for h in results if h["target"] == e["target"])
    print(f"aim catch-up of {args.catchup} <= 2 s: {'met' if median(catchup['raw']) <= 2 else 'NOT met'} (raw "
          f"{median(catchup['raw']):.2f} s, HubClient {median(catchup['HubClient']):.2f} s); hub / embedded accepted/s "
          f"at {e['target']:.0f}/s: {top['rate'] / e['rate']:.2f}")


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        rates=(str, "1000", "target webhooks/s, comma separated: one blast each"),
        seconds=(float, 60.0, "length of each blast"),
        clients=(int, 20, "event-stream clients, half on each replica"),
        connections=(int, 64, "the load generator's connections, split between the replicas"),
        customers=(int, 2000, "distinct customers the messages come from"),
        warmup=(float, 3.0, "seconds of load before the blasts (not counted)"),
        catchup=(int, 10000, "events a reconnecting client missed"),
        idle=(str, "100,500", "idle event streams for the memory figure, comma separated"),
        embedded_seconds=(float, 60.0, "length of the embedded desk's run at the highest rate"),
        profile=(str, "", "a directory for a py-spy record of replica a during the fastest blast"),
        dump=(str, "", "a directory for each blast's raw arrivals and commit times (JSON)"),
        quick=(bool, False, "a smoke run of a few seconds (tests/test_bench_team.py runs it)"),
    )
    if args.quick:
        args.rates, args.seconds, args.warmup, args.catchup, args.runs = "200", 3.0, 0.0, 300, 2
        args.idle, args.embedded_seconds, args.clients = "10,20", 2.0, min(args.clients, 4)
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    args.idle = [int(n) for n in args.idle.split(",") if n.strip()]
    args.profile = Path(args.profile) if args.profile else None
    args.dump = Path(args.dump) if args.dump else None
    args.window = 10.0 if args.seconds >= 30 else max(1.0, args.seconds / 3)
    (CACHE / "work").mkdir(parents=True, exist_ok=True)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
