"""The contract suite holds every rule of desk.store.rules: with any one of them replaced by what a
store without it would do (knockouts.py), the suite fails. Each knock-out runs the suite in a
subprocess (only this directory, stopping at the first failure), with WADESK_KNOCK_OUT naming the
rule; conftest.py puts the stand-in in place before any test. A test that fails with every rule in
place (a promise the store breaks) is left out of the knock-out runs: it fails on its own, and
must not count as catching a knock-out."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from desk.store import rules
from tests.store_contract.builders import at, template
from tests.store_contract.knockouts import ENV, KNOCK_OUTS, knock_out

SUITE = Path(__file__).resolve().parent
REPO = SUITE.parents[1]
COMMAND = [
    sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
    # Only this directory's conftest and pytest-asyncio: the suite needs nothing else, and not
    # loading the app's conftest and the other plugins takes a run's start from 1.8 s to 0.5 s.
    "--confcutdir", str(SUITE),
    "-p", "no:hypothesispytest", "-p", "no:syrupy", "-p", "no:textual-snapshot", "-p", "no:anyio",
    # The embedded store only: both stores decide with one interpreter over one desk.store.rules,
    # so the suite over one shows that it holds each rule; the PostgreSQL harness (a server and
    # a database a test, ~100 s a run) would add minutes to each knock-out.
    str(SUITE), "-k", "not rules_held and not pg",
]
RUN_TIMEOUT = 300.0
"""Seconds one run of the suite may take: a guard against a hang (a run takes a few)."""


def public_rules() -> list[str]:
    return sorted(
        name
        for name, value in vars(rules).items()
        if inspect.isfunction(value) and value.__module__ == rules.__name__ and not name.startswith("_")
    )


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str

    @property
    def failed(self) -> list[str]:
        """The node ids of the tests that failed or errored."""
        return [
            line.split(" ", 1)[1].split(" - ", 1)[0]
            for line in self.output.splitlines()
            if line.startswith(("FAILED ", "ERROR "))
        ]


def run_suite(knocked_out: str | None = None, *, deselect: Sequence[str] = ()) -> Run:
    """The suite in a subprocess: all of it, or with a rule knocked out up to its first failure,
    leaving out `deselect` (what fails with every rule in place: a store bug has its own test,
    and must not pass for a knock-out caught)."""
    env = {k: v for k, v in os.environ.items() if k not in (ENV, "PYTEST_ADDOPTS")}
    command = list(COMMAND)
    if knocked_out:
        env[ENV] = knocked_out
        command.append("-x")
    for node in deselect:
        command += ["--deselect", node]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    return Run(done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="module")
def unmodified() -> Run:
    return run_suite()


def test_every_rule_has_a_knock_out() -> None:
    missing = sorted(set(public_rules()) - set(KNOCK_OUTS))
    assert not missing, f"rules without a knock-out in tests/store_contract/knockouts.py: {', '.join(missing)}"
    assert sorted(KNOCK_OUTS) == public_rules(), "knock-outs for rules that are gone"


def test_a_knock_out_replaces_the_rule_everywhere_it_is_referenced(monkeypatch: pytest.MonkeyPatch) -> None:
    importer = types.ModuleType("an_importer_of_merge_templates")
    importer.merge_templates = rules.merge_templates  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, importer.__name__, importer)
    patched = knock_out("merge_templates", monkeypatch.setattr)
    stand_in = KNOCK_OUTS["merge_templates"]
    assert rules.merge_templates is stand_in and importer.merge_templates is stand_in
    assert {"desk.store.rules.merge_templates", "an_importer_of_merge_templates.merge_templates"} <= set(patched)
    # The rules that call it call the stand-in (they look it up in the module when called).
    welcome, receipt = template("welcome"), template("receipt")
    assert rules.catalogue_after(((welcome, receipt), at(1)), [welcome], None) == ((welcome,), at(1))


def test_the_suite_passes_with_every_rule_in_place(unmodified: Run) -> None:
    assert unmodified.returncode == 0, unmodified.output[-4000:]


@pytest.mark.parametrize("rule", public_rules())
def test_the_suite_fails_without_the_rule(rule: str, unmodified: Run) -> None:
    assert rule in KNOCK_OUTS, f"desk.store.rules.{rule} has no knock-out in tests/store_contract/knockouts.py"
    # 1: some tests fail with every rule in place (a store bug, told by its own test): left out.
    assert unmodified.returncode in (0, 1), f"the suite does not run:\n{unmodified.output[-4000:]}"
    run = run_suite(rule, deselect=unmodified.failed)
    outcome = "passes" if run.returncode == 0 else f"exits with {run.returncode}"
    assert run.returncode == 1, f"with rules.{rule} knocked out the contract suite {outcome}:\n{run.output[-4000:]}"
    print(f"rules.{rule} knocked out: caught by {', '.join(run.failed)}")
