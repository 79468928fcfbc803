"""Message search: the search index (`TinyStore.search`) against the scan it replaced, and what the
index adds to a durable inbound write.

For each size and run: a fresh copy of the seeded store (N conversations x 20 messages, its search
index built by the seed), opened, a few messages planted in Greek, Gujarati and Arabic; then
- the index: each of QUERIES searched --repeats times, each timed alone (the figure: the median
  of every query's median, and the slowest query's median);
- the scan: what the inbox did before (every conversation's messages read and folded, looking for
  the query), for one query, --scan-runs times in the first run only (it takes ~30 s at 100k);
- the write: --writes durable inbound messages, each into a different conversation picked at
  random (shard read from disk), alternately with and without the index's hook (`SearchIndex.note`
  made a no-op for the other half), each timed alone, plus the hook's own time inside the writes
  that have it. Same run, same store, interleaved: the difference is the index's cost.
Aim (issue 8): search median <= 50 ms at 100k; the index's cost on a durable write <= 0.3 ms.
"""

from __future__ import annotations

import gc
import random
import time
from datetime import timedelta

from seed import NOW, arguments, drop, fresh_copy, median, seeded, spread

from desk.models import Direction, Message, MessageReceived, MessageStatus
from desk.search import fold
from desk.store.tiny import TinyStore
from desk.store.tiny.search_index import SearchIndex

QUERIES = (
    "refund",  # a word of ~45% of the messages
    "tracking number",  # two words
    "deliv",  # the start of a word
    "Γιώργος",  # a customer's first name (~8% of them)
    "ΚΑΛΗΜΕΡΑ",  # planted: Greek, in capitals, without the tonos
    "નમસ્તે",  # planted: Gujarati
    "مرحبا",  # planted: Arabic, without the harakat
    "zebra",  # nothing
)
PLANTED = ("Καλημέρα, πού είναι το δέμα μου;", "નમસ્તે, મારો ઓર્ડર ક્યાં છે?", "مَرْحَبًا، أين طلبي؟")
SCAN_QUERY = "refund"


def inbound(store: TinyStore, cid: str, wamid: str, at_seconds: int, text: str) -> MessageReceived:
    conv = store.conversation(cid)
    assert conv is not None
    message = Message(wamid, cid, Direction.INBOUND, "text", NOW - timedelta(seconds=at_seconds), MessageStatus.RECEIVED, text)
    return MessageReceived(conv.business_number_id, conv.customer, message)


def scan(store: TinyStore, query: str) -> int:
    """The inbox's message-text search before the index (tui/screens/inbox.py at issue 7)."""
    needle = fold(query.strip())
    return sum(1 for conv in store.conversations() if any(needle in fold(m.text) for m in store.messages(conv.id)))


def one_run(size: int, run: int, repeats: int, scan_runs: int, writes: int) -> dict[str, float]:
    data_dir = fresh_copy(seeded(size, quiet=True), f"search-{size}-{run}")
    try:
        gc.collect()
        store = TinyStore(data_dir)
        t0 = time.perf_counter()
        store.open()
        open_ms = (time.perf_counter() - t0) * 1000
        assert store.wait_search(0), "the seeded store's search index is not whole"
        gc.freeze()
        rows = store._index.rows
        ids = random.Random(run).sample(sorted(rows), min(writes + len(PLANTED), len(rows)))
        for k, text in enumerate(PLANTED):
            store.apply(inbound(store, ids[k], f"wamid.PLANT{run}x{k}", 900 + k, text))
        out: dict = {"open": open_ms}
        medians = []
        for query in QUERIES:
            times = []
            for _ in range(repeats):
                t = time.perf_counter()
                hits = store.search(query)
                times.append((time.perf_counter() - t) * 1000)
            out[f"q:{query}"] = median(times)
            out[f"n:{query}"] = len(hits)
            medians.append(median(times))
        out["search"] = median(medians)
        out["slowest"] = max(medians)
        for k in range(scan_runs):
            t = time.perf_counter()
            found = scan(store, SCAN_QUERY)
            out.setdefault("scans", []).append((time.perf_counter() - t) * 1000)
            out["scan_found"] = found
        # Writes, alternately with and without the index's hook.
        note = SearchIndex.note
        hook: list[float] = []

        def timed_note(self, journaled):  # noqa: ANN001
            t = time.perf_counter()
            note(self, journaled)
            hook.append((time.perf_counter() - t) * 1000)

        with_index, without = [], []
        for k, cid in enumerate(ids[len(PLANTED):writes + len(PLANTED)]):
            event = inbound(store, cid, f"wamid.BENCH{run}x{k:06d}", 600 - k % 600, f"bench message {k}: where is my refund?")
            indexed = k % 2 == 0
            SearchIndex.note = timed_note if indexed else (lambda self, journaled: None)  # type: ignore[method-assign]
            try:
                t = time.perf_counter()
                changed = store.apply(event)
                (with_index if indexed else without).append((time.perf_counter() - t) * 1000)
            finally:
                SearchIndex.note = note  # type: ignore[method-assign]
            assert changed == cid
        out.update(write_with=median(with_index), write_without=median(without), hook=median(hook))
        store.close()
        return out
    finally:
        drop(data_dir)


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0],
        repeats=(int, 9, "times each query is searched per run"),
        scan_runs=(int, 1, "scans timed, in the first run of each size"),
        writes=(int, 400, "timed writes per run (half with the index's hook)"),
    )
    results: dict[int, list[dict]] = {}
    for size in args.sizes:
        seeded(size)
        results[size] = []
        for run in range(args.runs):
            r = one_run(size, run, args.repeats, args.scan_runs if run == 0 else 0, args.writes)
            results[size].append(r)
            per_query = ", ".join(f"{q} {r[f'q:{q}']:.1f} ({r[f'n:{q}']})" for q in QUERIES)
            scans = r.get("scans")
            scan_text = f"; scan {median(scans):.0f} ms ({r['scan_found']} conversations)" if scans else ""
            print(f"  {size:>7} run {run + 1}: search median {r['search']:.2f} ms, slowest query {r['slowest']:.2f} ms"
                  f"{scan_text}; write {r['write_with']:.3f} ms with the index, {r['write_without']:.3f} without, "
                  f"hook {r['hook']:.3f} ms; open {r['open']:.0f} ms", flush=True)
            print(f"           per query, ms (hits): {per_query}", flush=True)
    print(f"\nsearch: {len(QUERIES)} queries x {args.repeats} x {args.runs} runs; ms, median [min-max] of the runs")
    print(f"{'size':>8} | {'index median':>18} | {'slowest query':>18} | {'scan':>10} | {'scan/index':>10} | "
          f"{'write w/ index':>20} | {'write w/o':>20} | {'added':>7} | {'hook':>18}")
    for size, rs in results.items():
        col = lambda k, fmt="{:.2f}": spread([r[k] for r in rs], fmt)  # noqa: E731
        scans = [t for r in rs for t in r.get("scans", [])]
        index = median([r["search"] for r in rs])
        scan_ms = median(scans) if scans else float("nan")
        added = median([r["write_with"] for r in rs]) - median([r["write_without"] for r in rs])
        print(f"{size:>8} | {col('search'):>18} | {col('slowest'):>18} | {scan_ms:>10.0f} | {scan_ms / index:>9.0f}x | "
              f"{col('write_with', '{:.3f}'):>20} | {col('write_without', '{:.3f}'):>20} | {added:>7.3f} | "
              f"{col('hook', '{:.3f}'):>18}")


if __name__ == "__main__":
    main()
