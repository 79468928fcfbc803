"""The hub's agents (hub/agents.py) on a real PostgreSQL, through the API: a token works until its
agent is revoked, and the very next request is refused with a sentence saying why; a token the
hub never gave, or none, is refused too; the database keeps only the token's hash."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import httpx
import psycopg
import pytest
from psycopg_pool import ConnectionPool

from desk.clock import FrozenClock
from desk.store.pg import migrate
from hub.access import Role
from hub.agents import AgentExists, NoSuchAgent, PgDirectory
from hub.api import api_app
from tests.conftest import make_context
from tests.hub_helpers import local_api, serving


@pytest.fixture
def directory(pg_url: str):
    migrate.migrate(pg_url)
    with ConnectionPool(pg_url, min_size=1, max_size=2, open=True) as pool:
        yield PgDirectory(pool)


def test_a_token_is_shown_once_and_kept_only_as_its_hash(directory: PgDirectory, pg_url: str) -> None:
    token = directory.add("ana", Role.ADMIN, ["Sales"])
    assert token.startswith("wdk_") and len(token) > 40
    with psycopg.connect(pg_url) as conn:
        dump = " ".join(str(row) for row in conn.execute("SELECT * FROM agents").fetchall())
    assert token not in dump and token[4:] not in dump
    assert directory.who(token).name == "ana"


def test_names_are_ids_and_each_is_given_once(directory: PgDirectory) -> None:
    directory.add("bob")
    with pytest.raises(AgentExists, match="revoke it first"):
        directory.add("bob")
    with pytest.raises(ValueError, match="lower-case letters"):
        directory.add("Bob Smith")
    with pytest.raises(NoSuchAgent):
        directory.revoke("carol")
    directory.revoke("bob")
    again = directory.add("bob")  # a revoked agent may be given a new token
    assert directory.who(again).name == "bob"


async def test_a_revoked_token_is_refused_on_its_next_request(directory: PgDirectory, data_dir: Path, clock: FrozenClock) -> None:
    context = make_context(data_dir, clock)
    token = directory.add("ana")
    try:
        async with local_api(context) as (_, services, _dispatch):
            team = dataclasses.replace(services, directory=directory)
            async with serving(api_app(team)) as url, httpx.AsyncClient(base_url=url) as client:
                auth = {"Authorization": f"Bearer {token}"}
                assert (await client.get("/me", headers=auth)).json()["agent"] == "ana"
                directory.revoke("ana")
                refused = await client.get("/me", headers=auth)
                assert refused.status_code == 401 and refused.json()["code"] == "revoked"
                assert refused.json()["error"].startswith("The hub refused your token: agent ana was revoked on ")
                assert refused.json()["error"].endswith("Ask an admin for a new one (wadesk hub add-agent).")
                for headers, words in (
                    ({"Authorization": "Bearer wdk_never-given"}, "The hub does not know this token"),
                    ({}, "This request carries no token"),
                ):
                    answer = await client.get("/conversations", headers=headers)
                    assert answer.status_code == 401 and answer.json()["code"] == "unauthorized"
                    assert answer.json()["error"].startswith(words)
    finally:
        context.store.close()
