"""Key -> frame for moving the inbox cursor (j = down), median and p95 over --presses presses.

Not Pilot's wall time (~84 ms a press, the harness waiting for idle): each key event is handed to
the headless driver (`driver.send_message(Key)`, what a real driver does with a parsed key) at t0;
the press counts when the next frame is written (App._display wrapped, frame rendered to terminal
output). Then the app is let go idle before the next press. The cursor walks down from the top, so
it scrolls the list after the first screenful. Aim: p95 < 16 ms.
"""

from __future__ import annotations

import asyncio
import gc
import time

from seed import Frames, GcPauses, arguments, make_context, median, p95, ratio_line, seeded, settled, spread
from textual import events

from tui.app import WadeskApp
from tui.widgets.inbox_list import InboxList


async def one_run(size: int, presses: int) -> dict[str, float]:
    ctx = make_context(seeded(size, quiet=True))  # read-only: the cursor writes nothing
    try:
        app = WadeskApp(ctx, pump_events=False)
        frames = Frames(app)
        latencies: list[float] = []
        async with app.run_test(size=(120, 40)) as pilot:
            await settled(app)  # the inbox loads its rows in a worker
            await pilot.pause()
            inbox = app.screen.query_one(InboxList)
            assert len(inbox.rows) == size and app.focused is inbox
            await pilot.pause(0.3)
            driver = app._driver
            gc_pauses = GcPauses()
            for _ in range(presses):
                key = events.Key("j", "j")
                key.set_sender(app)
                t0 = time.perf_counter()
                driver.send_message(key)
                first = await frames.next_after(t0)
                latencies.append((frames.times[first] - t0) * 1000)
                await pilot.pause()  # idle before the next press (not measured)
            gc_pauses.stop()
            assert inbox.cursor == min(presses, size - 1), inbox.cursor
        return {"median": median(latencies), "p95": p95(latencies), "max": max(latencies), "gc": gc_pauses.summary()}
    finally:
        ctx.store.close()
        gc.collect()


def main() -> None:
    args = arguments(__doc__.splitlines()[0], presses=(int, 200, "key presses per run"))
    results: dict[int, list[dict[str, float]]] = {}
    for size in args.sizes:
        seeded(size)
        results[size] = []
        for run in range(args.runs):
            r = asyncio.run(one_run(size, args.presses))
            results[size].append(r)
            print(f"  {size:>7} run {run + 1}: key->frame median {r['median']:.2f} ms, p95 {r['p95']:.2f} ms, "
                  f"max {r['max']:.1f} ms ({r['gc']} during the presses)", flush=True)
    print(f"\ncursor: {args.presses} presses x {args.runs} runs; ms, median [min-max] of the runs")
    print(f"{'size':>8} | {'key->frame median':>20} | {'key->frame p95':>20} | {'max':>20}")
    for size, rs in results.items():
        print(f"{size:>8} | {spread([r['median'] for r in rs]):>20} | {spread([r['p95'] for r in rs]):>20} | "
              f"{spread([r['max'] for r in rs], '{:.1f}'):>20}")
    ratio_line("median ratio", {s: median([r["median"] for r in rs]) for s, rs in results.items()})
    ratio_line("p95 ratio", {s: median([r["p95"] for r in rs]) for s, rs in results.items()})


if __name__ == "__main__":
    main()
