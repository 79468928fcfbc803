"""Run every bench, one after the other (each in its own process), and keep the output.

    python bench/run_all.py [--sizes 1000,10000,100000] [--runs 3]

Prints as it goes and writes the whole output to bench/results/<date>-<time>.txt.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("seed.py", "store_write.py", "startup.py", "cursor.py", "live_update.py", "receiver.py", "ingest.py", "search.py")


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    libs = ", ".join(f"{n} {version(n)}" for n in ("textual", "rich", "tinydb", "orjson"))
    git = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.split()
    changed = sorted({f for f in dirty if "/" in f or "." in f} - {"M", "A", "D", "MM"})
    return (f"code: {git} + uncommitted {', '.join(changed) or 'nothing'}\n# nproc {os.cpu_count()}, CPU {cpu}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {libs}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / time.strftime("%Y%m%d-%H%M%S.txt")
    with out.open("w") as log:
        def emit(text: str) -> None:
            print(text, end="", flush=True)
            log.write(text)
            log.flush()

        emit(f"# {machine()}\n# sizes {args.sizes}, runs {args.runs}\n")
        for script in SCRIPTS:
            cmd = [sys.executable, str(HERE / script), "--sizes", args.sizes]
            if script != "seed.py":
                cmd += ["--runs", str(args.runs)]
            emit(f"\n## {script}\n")
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=HERE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                emit(line)
            code = proc.wait()
            emit(f"## {script}: exit {code}, {time.perf_counter() - t0:.0f} s\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
