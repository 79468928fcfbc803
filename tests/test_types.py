"""desk/, backends/, engine/ and tui/ type-check under mypy's strict mode: the configuration lives in
pyproject.toml ([tool.mypy]) and this test runs it, like the import contracts and the lint."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_types_check_strict():
    """mypy --strict over the packages named in [tool.mypy] files: every function annotated, no
    implicit Any, no unused or uncoded `type: ignore`."""
    result = subprocess.run(
        # No cache: nothing written into the tree (as ruff's --no-cache and pytest's no:cacheprovider),
        # and no stale cache shared with another run of the suite.
        [sys.executable, "-m", "mypy", "--cache-dir", os.devnull],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
