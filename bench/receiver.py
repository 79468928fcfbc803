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

    python bench/receiver.py [--runs 3] [--webhooks 5000] [--concurrency 1,16,64]
                                            [--customers 500] [--references 1] [--apply-events 2000]

The parts: receiver_bodies.py (the signed bodies), receiver_servers.py (serve, the reference
servers, CPU from /proc), receiver_clients.py (the load clients and the send loop).

About 2.5-3 minutes with the defaults (most of it waiting for the store to apply the backlog).
Aim (issue): 1,000 accepted webhooks/s on this 2-core machine. Only 127.0.0.1 is used. --sizes is
accepted (bench/run_all.py passes it to every bench) and ignored: the store starts empty.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from pathlib import Path

from receiver_bodies import make_bodies, marker_body
from receiver_clients import DonePoller, send_all
from receiver_servers import Server
from seed import CACHE, arguments, median, spread, stored_ids


def one_run(kind: str, concurrency: int, client: str, wamids: list[str], bodies: list[bytes], seed: int) -> dict[str, float]:
    """One server process, one send loop. serve with httpx waits for the marker (ingest lag); serve
    with the raw client is stopped right after the last 200 instead (what SIGTERM leaves behind)."""
    from desk.store.tiny.files import shard_path

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
    done = int((data_dir / "webhooks.done").read_text())
    index = {body: k for k, body in enumerate(bodies)}
    applied = {wamids[index[body]] for seq, body in records if seq <= done and body in index}
    stored = stored_ids(data_dir)
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
    main()
