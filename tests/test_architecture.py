"""engine/, desk/ and backends/ never import Textual (or Rich, or the TUI), nor the domain and the
backends the engine, nor production code the emulator: the contracts live in
pyproject.toml ([tool.importlinter]) and this test runs it."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contracts_are_kept():
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout


def test_lint_is_clean():
    """ruff, configured in pyproject.toml ([tool.ruff]): no unused import or name, imports in order,
    no blind except that does not say why."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "desk", "backends", "emulator", "tui", "bench", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
