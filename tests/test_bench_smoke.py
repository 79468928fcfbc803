"""The team bench runs: `bench/team.py --quick` (a private PostgreSQL, two hub replicas, a few
clients, a few seconds of webhooks, the embedded desk beside) ends with its summary tables. No
timing is asserted: this machine is shared, and the figures are the bench's to report."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.postgres_server import find_pg_ctl

ROOT = Path(__file__).resolve().parents[1]


def bench_tables():
    """bench/compare.py's parser of a bench's summary table."""
    spec = importlib.util.spec_from_file_location("bench_compare", ROOT / "bench" / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.table


@pytest.mark.skipif(find_pg_ctl() is None, reason="team mode: no PostgreSQL binaries (pg_ctl, initdb) on this machine")
def test_the_team_bench_runs_and_prints_its_tables(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "team.py"), "--quick"], cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT), WADESK_BENCH_DIR=str(tmp_path)), timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for heading in ("ingest |", "CPU ms per webhook |", "catch-up |", "idle event streams |", "aim 200 webhooks/s"):
        assert heading in out, out
    header, rows = bench_tables()(out)  # the header of the first table (ingest); the rows of all
    assert "accepted/s" in header and {"hub x2, 4 clients", "embedded serve"} <= set(rows), out
