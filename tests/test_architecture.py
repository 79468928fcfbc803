"""engine/, desk/ and backends/ never import Textual (or Rich, or the TUI), nor the domain and the
backends the engine, nor production code the emulator: the contracts live in
pyproject.toml ([tool.importlinter]) and this test runs it."""

import ast
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
        [sys.executable, "-m", "ruff", "check", "--no-cache", "desk", "backends", "engine", "emulator", "tui", "cli", "bench", "tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_notification_says_it_is_plain_text():
    """Customer names, file names, captions and WhatsApp's quoted errors reach notifications:
    every `notify(...)` in the TUI passes markup=False, as `WadeskApp.notify` enforces anyway, so
    that no call reads as one that parses markup."""
    missing = []
    for path in sorted((ROOT / "tui").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "notify":
                plain = any(
                    k.arg == "markup" and isinstance(k.value, ast.Constant) and k.value.value is False for k in node.keywords
                )
                if not plain:
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not missing, missing
