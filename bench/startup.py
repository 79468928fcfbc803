"""Process start -> the inbox painted with its rows, and the peak RSS of that process.

For each size and run, a fresh `python` process (so imports count) opens the seeded store, builds the
app on the mock (pump_events=False), runs it headless at 120x40, and stops at the first frame that
holds the inbox's rows (App._display wrapped; the frame is rendered to terminal output as a real
driver would, and its text must contain the top row's customer name). Time zero is the parent's
time.time() right before spawning; /proc/self/stat's start time is shown as a check (10 ms
resolution). One warm-up process per size is not counted (it warms the page cache).
Aim: painted within 1 s of process start at 100k; peak RSS < 200 MB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(data_dir: str) -> None:
    t0 = float(os.environ["WADESK_BENCH_T0"])
    marks: dict[str, float] = {"main": time.time()}
    import resource

    from seed import make_context  # noqa: F401  (desk.*, orjson)
    from textual._compositor import CompositorUpdate

    from desk.inbox import InboxModel
    from tui.app import WadeskApp
    from tui.screens.inbox import InboxScreen

    marks["imports"] = time.time()
    ctx = make_context(Path(data_dir))  # TinyStore.open() included
    marks["store_open"] = time.time()
    app = WadeskApp(ctx, pump_events=False)

    conversations = ctx.store.conversations

    def timed_conversations():
        marks["conversations_start"] = time.time()
        try:
            return conversations()
        finally:
            marks["conversations_end"] = time.time()

    ctx.store.conversations = timed_conversations
    load = InboxModel.load

    def timed_load(self, convs, now):
        marks["model_load_start"] = time.time()
        load(self, convs, now)
        marks["model_load_end"] = time.time()

    InboxModel.load = timed_load
    original = app._display
    result: dict[str, object] = {}

    def display(screen, renderable):
        original(screen, renderable)
        if result or renderable is None or not isinstance(renderable, CompositorUpdate):
            return
        text = renderable.render_segments(app.console)
        if not isinstance(screen, InboxScreen) or getattr(screen, "model", None) is None:
            return
        rows = screen.model.rows
        if not rows or rows[0].conversation.customer.name[:12] not in text:
            return
        now = time.time()
        with open("/proc/self/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        result["frame"] = now - t0
        result["proc_age"] = uptime - start_ticks / os.sysconf("SC_CLK_TCK")
        result["rows"] = len(rows)
        result["rss_at_frame_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        app.exit()

    app._display = display
    marks["app_built"] = time.time()
    app.run(headless=True, size=(120, 40))
    ctx.store.close()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["marks"] = {k: v - t0 for k, v in marks.items()}
    result["exit"] = time.time() - t0
    print("BENCH " + json.dumps(result), flush=True)


def spawn(data_dir: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(HERE.parent), env.get("PYTHONPATH", "")])
    env["WADESK_BENCH_T0"] = repr(time.time())
    out = subprocess.run(
        [sys.executable, str(HERE / "startup.py"), "--child", str(data_dir)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    for line in out.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[6:])
    raise RuntimeError(f"child failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def main() -> None:
    from seed import arguments, median, ratio_line, seeded, spread

    args = arguments(__doc__.splitlines()[0])
    results: dict[int, list[dict]] = {}
    for size in args.sizes:
        data_dir = seeded(size)  # startup does not write: open() on a clean store, close() no flush
        spawn(data_dir)  # warm-up
        results[size] = []
        for run in range(args.runs):
            r = spawn(data_dir)
            results[size].append(r)
            m = r["marks"]
            phases = (
                f"imports {m['imports'] - m['main']:.2f}, open {m['store_open'] - m['imports']:.2f}, "
                f"conversations() {m['conversations_end'] - m['conversations_start']:.2f}, "
                f"model.load {m['model_load_end'] - m['model_load_start']:.2f}, "
                f"load->frame {r['frame'] - m['model_load_end']:.2f}"
            )
            print(f"  {size:>7} run {run + 1}: frame {r['frame']:.3f} s (proc age {r['proc_age']:.2f}), "
                  f"python start {m['main']:.3f}, {phases}; peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
    print(f"\nstartup: process start -> inbox rows painted, {args.runs} runs (+1 warm-up); median [min-max]")
    print(f"{'size':>8} | {'to frame (s)':>20} | {'store open (s)':>18} | {'conversations() (s)':>20} | "
          f"{'model.load (s)':>18} | {'peak RSS (MB)':>16}")
    for size, rs in results.items():
        def phase(a: str, b: str) -> str:
            return spread([r["marks"][b] - r["marks"][a] for r in rs], "{:.3f}")
        print(f"{size:>8} | {spread([r['frame'] for r in rs], '{:.3f}'):>20} | {phase('imports', 'store_open'):>18} | "
              f"{phase('conversations_start', 'conversations_end'):>20} | {phase('model_load_start', 'model_load_end'):>18} | "
              f"{spread([r['peak_rss_mb'] for r in rs], '{:.0f}'):>16}")
    ratio_line("to-frame ratio", {s: median([r["frame"] for r in rs]) for s, rs in results.items()}, "s")
    ratio_line("peak RSS ratio", {s: median([r["peak_rss_mb"] for r in rs]) for s, rs in results.items()}, "MB")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main()
