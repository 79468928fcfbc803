"""The stores the contract suite runs over: one harness each. A new store joins the whole suite by
one entry in HARNESSES (its harness: harness.StoreHarness)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from desk.clock import FrozenClock
from desk.store.contract import Store
from tests.postgres_server import Server
from tests.store_contract.builders import NOW
from tests.store_contract.harness import HarnessFactory, PgHarness, StoreHarness, TinyHarness
from tests.store_contract.knockouts import ENV, knock_out_from_env

_copies = itertools.count(1)

HARNESSES: dict[str, HarnessFactory] = {
    "tiny": TinyHarness.make,
    "pg": PgHarness.make,
}


def pytest_configure(config: pytest.Config) -> None:
    # The PostgreSQL harness needs pg_url: tests/conftest.py registers it for a whole run, and a
    # run of this directory alone (test_rules_held.py's) registers it here.
    if not config.pluginmanager.has_plugin("tests.postgres_fixtures"):
        config.pluginmanager.import_plugin("tests.postgres_fixtures")
    # test_rules_held.py runs this suite with one rule knocked out (WADESK_KNOCK_OUT): in place
    # before any test, in every module that holds a reference to it.
    try:
        knock_out_from_env()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> str | None:
    name = os.environ.get(ENV)
    return f"store contract: rule {name} knocked out" if name else None


@pytest.fixture(scope="session")
def pg_migrated_template(pg_server: Server) -> str:
    """A database with the schema applied, once a run: each test's is a copy (a copy costs what
    an empty database does; migrating each one cost 0.1 s more)."""
    from desk.store.pg.migrate import migrate

    url = pg_server.database()
    migrate(url)
    return url


@pytest.fixture
def pg_migrated_url(pg_server: Server, pg_migrated_template: str) -> str:
    """A fresh database for the PostgreSQL harness, migrated: a copy of the template."""
    import psycopg

    template = pg_migrated_template.rsplit("dbname=", 1)[1]
    name = f"{template}_{next(_copies)}"
    with psycopg.connect(pg_server.conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return pg_server.conninfo.replace("dbname=postgres", f"dbname={name}")


@pytest.fixture(params=sorted(HARNESSES))
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreHarness]:
    made = HARNESSES[request.param](request, tmp_path, FrozenClock(NOW))
    yield made
    made.close()


@pytest.fixture
def store(harness: StoreHarness) -> Store:
    """A fresh store, opened; closed by the harness after the test."""
    return harness.open()


@pytest.fixture
def clock(harness: StoreHarness) -> FrozenClock:
    return harness.clock
