"""Two agents take one conversation at the same moment, through the API of two hub replicas on
one PostgreSQL: the database picks one, every time, and the other is told who has it (409, the
winner named in the sentence and by id). 100 rounds, as the issue asks."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import httpx
import pytest

from desk.clock import FrozenClock
from engine import Engine
from hub.access import Agent
from hub.api import api_app
from hub.local import local_services
from tests.hub_helpers import pg_engine, serving

ROUNDS = 100


@dataclasses.dataclass
class ByToken:
    def who(self, token: str | None) -> Agent:
        return Agent(token or "nobody")


@pytest.fixture
def replicas(pg_url: str, tmp_path: Path, clock: FrozenClock):
    with pg_engine(pg_url, clock, tmp_path / "a") as a, pg_engine(pg_url, clock, tmp_path / "b", history=False) as b:
        yield [a, b]


async def test_of_two_claims_at_once_exactly_one_wins_each_time(replicas: list[Engine]) -> None:
    apps = [api_app(dataclasses.replace(local_services(e)[0], directory=ByToken())) for e in replicas]
    store = replicas[0].context.store
    cid = store.conversations()[0].id
    async with serving(apps[0]) as url_a, serving(apps[1]) as url_b, httpx.AsyncClient(timeout=30) as client:
        for round_ in range(ROUNDS):
            store.assign(cid, None, agent="lead")
            ana, bob = await asyncio.gather(
                client.post(f"{url_a}/conversations/{cid}/claim", headers={"Authorization": "Bearer ana"}),
                client.post(f"{url_b}/conversations/{cid}/claim", headers={"Authorization": "Bearer bob"}),
            )
            assert sorted([ana.status_code, bob.status_code]) == [200, 409], round_
            winner, loser = (ana, bob) if ana.status_code == 200 else (bob, ana)
            name = winner.json()["assignee"]
            assert loser.json() == {"code": "conflict", "error": f"{name} has this conversation.", "assignee": name}
            assert store.conversation(cid).assignee == name
        again = await client.post(f"{url_a}/conversations/{cid}/claim", headers={"Authorization": f"Bearer {name}"})
        assert again.status_code == 200  # taking what is yours already is no conflict
