"""New inbound message -> inbox repainted: from `await app.ingest(event)` to the next frame after the
inbox screen handled the change (InboxScreen.on_conversations_changed: model update + set_rows).

For each size and run: a fresh copy of the seeded store, the app headless at 120x40, --messages
messages, alternately into a conversation on screen (top rows: its row repaints in place; the frame
must show its customer) and into a random one (it moves in the order, usually off screen). Also
shows the split (store write on the writer thread; the screen's handler on the UI loop) and the
UI loop's periodic work: the 1 s tick (`_tick`: repaint + status bar) and the 60 s re-sort
(`_resort`, if the screen has one). Aim (G4): median <= 50 ms, and no block of the UI loop > 50 ms.
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from datetime import timedelta

from seed import (
    NOW,
    Frames,
    GcPauses,
    arguments,
    drop,
    fresh_copy,
    make_context,
    median,
    p95,
    ratio_line,
    seeded,
    settled,
    spread,
)

from desk.models import Direction, Message, MessageReceived, MessageStatus
from tui.app import WadeskApp
from tui.screens.inbox import InboxScreen


async def one_run(size: int, run: int, count: int) -> dict[str, float]:
    data_dir = fresh_copy(seeded(size, quiet=True), f"live_update-{size}-{run}")
    ctx = make_context(data_dir)
    marks: dict[str, float] = {}
    handled = asyncio.Event()
    original_handler = InboxScreen.on_conversations_changed

    def handler(self, event):
        marks["handler_start"] = time.perf_counter()
        original_handler(self, event)
        marks["handler_end"] = time.perf_counter()
        handled.set()

    apply = ctx.store.apply

    def timed_apply(event):
        t = time.perf_counter()
        try:
            return apply(event)
        finally:
            marks["write"] = time.perf_counter() - t

    apply_each = ctx.store.apply_each

    def timed_apply_each(events, **kwargs):
        # The pump hands what arrived together to apply_each (one sync a batch).
        t = time.perf_counter()
        try:
            return apply_each(events, **kwargs)
        finally:
            marks["write"] = time.perf_counter() - t

    ctx.store.apply = timed_apply
    ctx.store.apply_each = timed_apply_each
    InboxScreen.on_conversations_changed = handler
    try:
        app = WadeskApp(ctx, pump_events=False)
        frames = Frames(app, keep_text=True)
        totals, writes, handlers, on_screen = [], [], [], []
        shown = 0
        rng = random.Random(run)
        async with app.run_test(size=(120, 40)) as pilot:
            await settled(app)  # the inbox loads its rows in a worker
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, InboxScreen) and len(screen.model.rows) == size
            await pilot.pause(0.3)
            gc_pauses = GcPauses()
            all_ids = [r.conversation.id for r in screen.model.rows]
            inbox = screen.list
            visible_rows = inbox.scrollable_content_region.height // inbox.row_height  # cursor at the top
            for k in range(count):
                visible = k % 2 == 0
                rows = screen.model.rows
                cid = rows[rng.randrange(visible_rows)].conversation.id if visible else rng.choice(all_ids)
                conv = ctx.store.conversation(cid)
                message = Message(f"wamid.LIVE{run}x{k:04d}", cid, Direction.INBOUND, "text",
                                  NOW - timedelta(seconds=300 - k), MessageStatus.RECEIVED, f"live {k}: any news?")
                event = MessageReceived(conv.business_number_id, conv.customer, message)
                handled.clear()
                t0 = time.perf_counter()
                await app.ingest(event)
                await asyncio.wait_for(handled.wait(), 10)
                i = await frames.next_after(marks["handler_end"])
                total = (frames.times[i] - t0) * 1000
                totals.append(total)
                writes.append(marks["write"] * 1000)
                handlers.append((marks["handler_end"] - marks["handler_start"]) * 1000)
                position = screen.model.index_of(cid)
                if position is not None and position < visible_rows:
                    on_screen.append(total)
                    assert conv.customer.name[:12] in frames.texts[i], (cid, position)
                    shown += 1
                await pilot.pause()
            gc_pauses.stop()
            # The UI loop's periodic work at this size.
            ticks = []
            for _ in range(5):
                t = time.perf_counter()
                screen._tick()
                ticks.append((time.perf_counter() - t) * 1000)
            resort = float("nan")  # the 60 s full re-sort, where the screen still has one
            if hasattr(screen, "_resort"):
                t = time.perf_counter()
                screen._resort()
                resort = (time.perf_counter() - t) * 1000
            await pilot.pause()
        return {
            "median": median(totals), "p95": p95(totals), "max": max(totals),
            "on_screen": median(on_screen) if on_screen else float("nan"), "shown": shown,
            "write": median(writes), "handler": median(handlers), "handler_max": max(handlers),
            "tick": median(ticks), "resort": resort, "gc": gc_pauses.summary(),
        }
    finally:
        InboxScreen.on_conversations_changed = original_handler
        ctx.store.close()
        drop(data_dir)
        gc.collect()


def main() -> None:
    args = arguments(__doc__.splitlines()[0], messages=(int, 50, "messages per run"))
    results: dict[int, list[dict[str, float]]] = {}
    for size in args.sizes:
        seeded(size)
        results[size] = []
        for run in range(args.runs):
            r = asyncio.run(one_run(size, run, args.messages))
            results[size].append(r)
            print(f"  {size:>7} run {run + 1}: ingest->frame median {r['median']:.1f} ms, p95 {r['p95']:.1f}, "
                  f"max {r['max']:.1f} (on screen: {r['on_screen']:.1f} ms, {r['shown']} rows); store write "
                  f"{r['write']:.2f} ms, screen handler {r['handler']:.1f} ms (max {r['handler_max']:.1f}); "
                  f"tick {r['tick']:.1f} ms, re-sort {r['resort']:.0f} ms; {r['gc']} during the messages", flush=True)
    print(f"\nlive_update: {args.messages} messages x {args.runs} runs; ms, median [min-max] of the runs")
    print(f"{'size':>8} | {'ingest->frame':>20} | {'p95':>20} | {'store write':>16} | {'screen handler':>18} | "
          f"{'1 s tick':>18} | {'60 s re-sort':>18}")
    for size, rs in results.items():
        col = lambda k, fmt="{:.1f}": spread([r[k] for r in rs], fmt)  # noqa: E731
        print(f"{size:>8} | {col('median'):>20} | {col('p95'):>20} | {col('write', '{:.2f}'):>16} | "
              f"{col('handler'):>18} | {col('tick'):>18} | {col('resort', '{:.0f}'):>18}")
    ratio_line("ingest->frame median ratio", {s: median([r["median"] for r in rs]) for s, rs in results.items()})
    ratio_line("screen handler ratio", {s: median([r["handler"] for r in rs]) for s, rs in results.items()})


if __name__ == "__main__":
    main()
