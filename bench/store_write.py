"""One durable inbound message into an existing conversation: `TinyStore.apply(MessageReceived)`.

For each size and run: a fresh copy of the seeded store, `open()`, then --writes messages, each into a
different conversation picked at random (so the shard is read from disk, as for most real
messages), each timed alone. Also times `open()` and one index flush (`flush()`, which the store
does every 2,000 journal records): that cost is amortised over 2,000 writes.
Aim: median < 2 ms at 100k, and 100k/1k < 1.2.
"""

from __future__ import annotations

import gc
import random
import time
from datetime import timedelta

from seed import NOW, arguments, drop, fresh_copy, median, p95, ratio_line, seeded, spread

from desk.codec import conversation_from_row
from desk.models import Direction, Message, MessageReceived, MessageStatus
from desk.store.tiny import TinyStore


def one_run(size: int, run: int, writes: int) -> dict[str, float]:
    data_dir = fresh_copy(seeded(size, quiet=True), f"store_write-{size}-{run}")
    try:
        gc.collect()
        store = TinyStore(data_dir)
        t0 = time.perf_counter()
        store.open()
        open_ms = (time.perf_counter() - t0) * 1000
        gc.freeze()  # as the app does once its inbox is loaded: the collector skips the index
        rows = store._index.rows  # the index rows as loaded: ids and customers, no Conversations built
        ids = random.Random(run).sample(sorted(rows), min(writes, len(rows)))
        events = []
        for k, cid in enumerate(ids * (writes // len(ids) + 1)):
            conv = conversation_from_row(rows[cid])
            wamid = f"wamid.BENCH{run}x{k:06d}"
            message = Message(wamid, cid, Direction.INBOUND, "text", NOW - timedelta(seconds=600 - k),
                              MessageStatus.RECEIVED, f"bench message {k}: where is my order?")
            events.append(MessageReceived(conv.business_number_id, conv.customer, message))
            if len(events) == writes:
                break
        times = []
        for event in events:
            t = time.perf_counter()
            changed = store.apply(event)
            times.append((time.perf_counter() - t) * 1000)
            assert changed == event.message.conversation_id
        t = time.perf_counter()
        store.flush()
        flush_ms = (time.perf_counter() - t) * 1000
        store.close()
        return {"median": median(times), "p95": p95(times), "max": max(times), "open": open_ms, "flush": flush_ms}
    finally:
        drop(data_dir)


def main() -> None:
    args = arguments(__doc__.splitlines()[0], writes=(int, 500, "timed writes per run"))
    results: dict[int, list[dict[str, float]]] = {}
    for size in args.sizes:
        seeded(size)
        results[size] = []
        for run in range(args.runs):
            r = one_run(size, run, args.writes)
            results[size].append(r)
            print(f"  {size:>7} run {run + 1}: write median {r['median']:.3f} ms, p95 {r['p95']:.3f} ms, "
                  f"max {r['max']:.1f} ms; open {r['open']:.0f} ms; index flush {r['flush']:.0f} ms", flush=True)
    print(f"\nstore_write: {args.writes} writes x {args.runs} runs; ms, median [min-max] of the runs")
    print(f"{'size':>8} | {'write median':>20} | {'write p95':>20} | {'open()':>16} | {'index flush':>16} | flush per write")
    for size, rs in results.items():
        col = lambda k, fmt="{:.3f}": spread([r[k] for r in rs], fmt)  # noqa: E731
        flush = median([r["flush"] for r in rs])
        print(f"{size:>8} | {col('median'):>20} | {col('p95'):>20} | {col('open', '{:.0f}'):>16} | "
              f"{col('flush', '{:.0f}'):>16} | {flush / TinyStore.INDEX_FLUSH_RECORDS:.3f}")
    ratio_line("write median ratio", {s: median([r["median"] for r in rs]) for s, rs in results.items()})
    ratio_line("write p95 ratio", {s: median([r["p95"] for r in rs]) for s, rs in results.items()})


if __name__ == "__main__":
    main()
