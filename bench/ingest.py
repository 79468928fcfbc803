"""Sustained ingest through the whole path: signed HTTP -> spool -> parse -> store -> changes().

Per run: a fresh data directory and a `wadesk serve` subprocess (cloud backend, as receiver.py
starts it). This process sends --rate signed webhooks a second (each one inbound text message, a
distinct wamid, from one of --customers customers) for --seconds, paced (request i leaves at
t0 + i/rate), over --concurrency keep-alive connections written by hand (receiver_clients.Raw-
Connection: the httpx client caps this process near 2,000 requests/s on its own). serve applies
what arrives in batches and follows the store's changes (its minute counts are in its log).

Reported per run, then as median [min-max] of --runs:
  sent/s      requests sent / the sending span (every answer must be a 200)
  applied/s   bodies applied during the sending span / the span (webhooks.done, written every 64)
  backlog     the most bodies answered 200 and not applied yet at any sample (10 ms apart), and at
              the end of the sending span
  drain       last 200 -> every body applied (s)
Then serve gets SIGTERM, and the store is opened: every wamid sent must be in it exactly once.

    python bench/ingest.py [--runs 3] [--rate 2000] [--seconds 60] [--concurrency 64] [--customers 2000]

Aim (issue 7): 2,000 webhooks a second sustained for 60 s on 2 cores, the backlog drained while it
runs, nothing lost. --sizes is accepted (run_all.py passes it) and ignored: the store starts empty.

--customers sets the mix. 2,000 (the default, the hard case): each customer writes once a second,
so every conversation grows by 60 messages in the minute and nearly every message rewrites a
conversation that no longer fits the writer's cache. 20,000: each writes every 10 s, a brisk chat.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

from receiver_bodies import APP_SECRET, make_bodies
from receiver_clients import DonePoller, RawConnection
from receiver_servers import Server
from seed import arguments, spread, stored_ids

from emulator.encode import signature


async def paced(server: Server, bodies: list[bytes], rate: float, concurrency: int) -> tuple[float, float]:
    """Send every body at its time; returns (first sent, last 200)."""
    sigs = [signature(b, APP_SECRET) for b in bodies]
    connections = [RawConnection(server.url) for _ in range(concurrency)]
    try:
        assert all(await asyncio.gather(*(c.handshake() for c in connections)))
        queue = iter(range(len(bodies)))
        loop = asyncio.get_running_loop()
        t0 = loop.time() + 0.05
        last = [0.0]
        bad: list[int] = []

        async def worker(connection: RawConnection) -> None:
            for i in queue:  # shared: each index is taken once
                delay = t0 + i / rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                if await connection.post(bodies[i], sigs[i]) != 200:
                    bad.append(i)
                last[0] = max(last[0], time.perf_counter())

        first = time.perf_counter() + 0.05
        await asyncio.gather(*(worker(c) for c in connections))
        if bad:
            raise AssertionError(f"{len(bad)} answers were not 200")
        return first, last[0]
    finally:
        await asyncio.gather(*(c.aclose() for c in connections))


def one_run(run: int, rate: float, seconds: float, concurrency: int, customers: int) -> dict[str, float]:
    count = int(rate * seconds)
    wamids, bodies = make_bodies(count, customers, seed=run)
    work = Path(tempfile.mkdtemp(prefix="wadesk-ingest-"))
    data_dir = work / "data"
    server = Server("serve", work, data_dir)
    poller = DonePoller(data_dir)
    poller.start()
    try:
        first, last = asyncio.run(paced(server, bodies, rate, concurrency))
        deadline = time.perf_counter() + 600
        while poller.at(time.perf_counter()) < count - 63:  # done is written every 64 bodies
            if time.perf_counter() > deadline:
                raise TimeoutError("serve never applied the backlog")
            time.sleep(0.01)
        drained = time.perf_counter()
        poller.halt.set()
        server.stop()
        span = last - first
        backlog = [max(0, min(count, int((when - first) * rate)) - done) for when, done in poller.samples if when <= last]
        result = {
            "sent": count / span,
            "applied": poller.at(last) / span,
            "backlog_max": max(backlog, default=0),
            "backlog_end": count - poller.at(last),
            "drain": max(0.0, drained - last),
        }
        stored = stored_ids(data_dir)
        if sorted(stored) != sorted(wamids):
            raise AssertionError(f"{len(set(wamids) - set(stored))} lost, {len(stored) - len(set(stored))} twice")
        return result
    finally:
        poller.halt.set()
        server.kill()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        rate=(float, 2000.0, "webhooks a second"),
        seconds=(float, 60.0, "seconds of sending"),
        concurrency=(int, 64, "connections"),
        customers=(int, 2000, "distinct customers"),
    )
    results = []
    for run in range(1, args.runs + 1):
        r = one_run(run, args.rate, args.seconds, args.concurrency, args.customers)
        results.append(r)
        print(f"  run {run}: sent {r['sent']:.0f}/s, applied {r['applied']:.0f}/s, backlog max {r['backlog_max']:.0f} "
              f"end {r['backlog_end']:.0f}, drain {r['drain']:.2f} s; every wamid stored once", flush=True)
    print(f"\ningest: {args.rate:.0f}/s for {args.seconds:.0f} s, C={args.concurrency}, {args.runs} runs; median [min-max]")
    print(f"{'rate':>8} | {'sent/s':>20} | {'applied/s':>20} | {'backlog max':>20} | {'backlog end':>20} | {'drain (s)':>20}")
    cells = [spread([r[k] for r in results], fmt) for k, fmt in
             (("sent", "{:.0f}"), ("applied", "{:.0f}"), ("backlog_max", "{:.0f}"), ("backlog_end", "{:.0f}"), ("drain", "{:.2f}"))]
    print(f"{args.rate:>8.0f} | " + " | ".join(f"{c:>20}" for c in cells))


if __name__ == "__main__":
    main()
