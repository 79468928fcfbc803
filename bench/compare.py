"""Run one bench on an earlier commit and on this checkout, in the same run, and print the ratio.

    python bench/compare.py --base <commit> store_write.py [the bench's own options]

The earlier commit is checked out into a temporary git worktree; each side runs the bench's own
script from its own tree (so each measures its own code), with its own seeded stores (the layout
may differ between the two), alternately, `--rounds` times, so the machine's noise falls on both.
Each bench ends with a table of `size | median [min-max] | ...` rows; this prints that table for
each side, then the same table as new/base ratios of the medians (under 1.00: the new code is
faster or smaller).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ROW = re.compile(r"^\s*([^|]+?)\s*\|(.*)$")
CELL = re.compile(r"^\s*(-?[\d.]+|nan)")


def table(output: str) -> tuple[list[str], dict[str, list[float]]]:
    """The bench's summary table: its header's column names, and each row's median cells. A row
    is a `label | number ... | ...` line (the label: a size, or "serve/httpx 64"); the header is
    the `|` line above the first row."""
    header: list[str] = []
    rows: dict[str, list[float]] = {}
    previous: list[str] | None = None
    for line in output.splitlines():
        match = ROW.match(line)
        if not match:
            previous = None
            continue
        cells = match.group(2).split("|")
        if not CELL.match(cells[0]) and not cells[0].strip() == "-":
            previous = [c.strip() for c in cells]  # a header, if rows follow
            continue
        if not rows and previous is not None:
            header = previous
        rows[" ".join(match.group(1).split())] = [
            float(number.group(1)) if (number := CELL.match(cell)) else float("nan") for cell in cells
        ]
    return header, rows


def run(tree: Path, script: str, args: list[str], bench_dir: Path) -> str:
    env = dict(os.environ, PYTHONPATH=str(tree), WADESK_BENCH_DIR=str(bench_dir))
    done = subprocess.run([sys.executable, str(tree / "bench" / script), *args], cwd=tree, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{script} failed in {tree}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="the commit to compare with (e.g. the one before an issue)")
    p.add_argument("--rounds", type=int, default=1, help="alternate base/new this many times; medians of the rounds")
    p.add_argument("--seeds", type=Path, help="keep each side's seeded stores in <seeds>/base and <seeds>/new across "
                   "calls (seeding 100k takes ~35 s); default: a temporary directory")
    p.add_argument("script", help="a bench script in bench/, e.g. store_write.py")
    p.add_argument("args", nargs=argparse.REMAINDER, help="the bench's own options")
    options = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="wadesk-compare-") as scratch:
        base_tree = Path(scratch) / "base"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(base_tree), options.base], check=True)
        try:
            seeds = options.seeds or Path(scratch)
            sides = {"base": (base_tree, seeds / "base"), "new": (ROOT, seeds / "new")}
            results: dict[str, list[dict[str, list[float]]]] = {"base": [], "new": []}
            header: list[str] = []
            for round_ in range(options.rounds):
                for name, (tree, bench_dir) in sides.items():
                    output = run(tree, options.script, options.args, bench_dir)
                    print(f"## {name} (round {round_ + 1})\n{output}", flush=True)
                    header, rows = table(output)
                    results[name].append(rows)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)], check=False)
    median = {name: _median_rows(rounds) for name, rounds in results.items()}
    print(f"{options.script}: new / base, median of {options.rounds} round(s); base = {options.base}")
    width = max((len(label) for label in median["new"]), default=4)
    print(f"{'row':>{width}} | " + " | ".join(f"{h:>18}" for h in header))
    for label, new_cells in median["new"].items():
        base_cells = median["base"].get(label, [])
        ratios = [f"{n / b:>17.2f}x" if b == b and b else f"{'-':>18}" for n, b in zip(new_cells, base_cells)]
        print(f"{label:>{width}} | " + " | ".join(ratios))
    return 0


def _median_rows(rounds: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    sizes = rounds[0].keys() if rounds else ()
    return {size: [statistics.median(r[size][i] for r in rounds) for i in range(len(rounds[0][size]))] for size in sizes}


if __name__ == "__main__":
    sys.exit(main())
