"""The CLI against a hub: the agents' API (hub/api.py) on loopback over a store, its agents and
tokens on a real PostgreSQL (hub.agents.PgDirectory), and `wadesk --hub URL ...` with the token in
$WADESK_HUB_TOKEN: every command in text and --json, signed as the token's agent; a missing,
unknown or revoked token, a department outside the agent's and a hub that cannot be reached are
each refused in a sentence (exit 1)."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from psycopg_pool import ConnectionPool

from backends.base import Sent
from backends.errors import OutcomeUnknown
from backends.hub.client import HubClient
from cli.commands import Command, Refused
from desk.clock import FrozenClock
from desk.models import ConversationStatus, MessageStatus
from desk.store.pg import migrate
from desk.window import window
from engine.context import DeskContext
from hub.access import Role
from hub.agents import PgDirectory
from hub.api import api_app
from tests.conftest import make_context
from tests.hub_helpers import local_api, serving
from tests.test_hostile_walk import FORBIDDEN, NAME, hostile_events
from tui.cli import main

SALES, SUPPORT = "100000000000001", "100000000000002"


@pytest.fixture
def directory(pg_url: str) -> Iterator[PgDirectory]:
    migrate.migrate(pg_url)
    with ConnectionPool(pg_url, min_size=1, max_size=4, open=True) as pool:
        yield PgDirectory(pool)


@pytest.fixture
def context(data_dir: Path, clock: FrozenClock) -> Iterator[DeskContext]:
    made = make_context(data_dir, clock)
    made.store.apply_many(hostile_events(SALES)[1])
    yield made
    made.store.close()


@pytest.fixture
async def hub(context: DeskContext, directory: PgDirectory) -> AsyncIterator[str]:
    """The hub's base URL (the client adds /api/v1)."""
    async with local_api(context) as (_, services, _dispatch):
        team = dataclasses.replace(services, directory=directory)
        async with serving(api_app(team)) as url:
            yield url.removesuffix("/api/v1")


@pytest.fixture
def wadesk(tmp_path: Path, clock: FrozenClock, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """`wadesk ARGS` as its agent: in a thread, the hub answering on this test's loop."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    for name in ("WADESK_CONFIG", "WADESK_DATA_DIR", "WADESK_HUB_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    config = tmp_path / "config.toml"
    config.write_text("")

    async def run(*args: str, token: str | None = None) -> tuple[int, str, str]:
        if token is not None:
            monkeypatch.setenv("WADESK_HUB_TOKEN", token)
        code = await asyncio.to_thread(main, [*args, "--config", str(config)], clock=clock)
        out, err = capsys.readouterr()
        return code, out, err

    return run


def open_one(context: DeskContext, number: str = SALES) -> str:
    now = context.clock.now()
    return next(c.id for c in sorted(context.store.conversations(), key=lambda c: c.id)
                if c.business_number_id == number and window(c.last_inbound_at, now).open and c.customer.name != NAME)


def one_sentence(err: str, *words: str) -> None:
    assert err.startswith("wadesk: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


async def test_every_command_against_the_hub_in_text(hub: str, wadesk, context: DeskContext, directory: PgDirectory) -> None:
    token = directory.add("ana")
    cid = open_one(context)
    code, out, err = await wadesk("list", "--hub", hub, token=token)
    assert (code, err) == (0, "")
    assert {line.split("\t")[0] for line in out.splitlines()} == {c.id for c in context.store.conversations()}
    assert not FORBIDDEN.findall(out) and "<U+202E>evil" in out

    code, out, _ = await wadesk("show", cid, "--hub", hub)
    assert code == 0 and out.startswith(f"Conversation: {cid}\n")
    assert len(out.partition("\n\n")[2].splitlines()) == len(context.store.messages(cid))

    code, out, err = await wadesk("reply", cid, "From the team's script", "--hub", hub)
    assert (code, err) == (0, "") and out.startswith("Sent: WhatsApp accepted it as wamid.")
    sent = [m for m in context.store.messages(cid) if m.text == "From the team's script"]
    assert [(m.status, m.agent) for m in sent] == [(MessageStatus.SENT, "ana")]  # signed as the token's agent

    code, out, err = await wadesk("template", cid, "thanks_for_contacting", "--hub", hub)
    assert (code, err) == (0, "") and out.startswith("Sent: ")

    assert await wadesk("note", cid, "Seen by ana", "--hub", hub) == (0, f"Note added to {cid}.\n", "")
    assert await wadesk("assign", cid, "ana", "--hub", hub) == (0, f"{cid} is now ana's.\n", "")
    code, out, _ = await wadesk("list", "--hub", hub)
    assert next(line for line in out.splitlines() if line.startswith(cid)).endswith("\tmine")
    assert await wadesk("resolve", cid, "--hub", hub) == (0, f"{cid} is resolved.\n", "")
    conversation = context.store.conversation(cid)
    assert (conversation.assignee, conversation.status) == ("ana", ConversationStatus.RESOLVED)
    assert [(e.action, e.agent) for e in context.store.audit(cid)][-3:] == [("note", "ana"), ("assigned", "ana"), ("status", "ana")]


async def test_every_command_against_the_hub_in_json(hub: str, wadesk, context: DeskContext, directory: PgDirectory) -> None:
    token = directory.add("ana")
    cid = open_one(context)
    code, out, _ = await wadesk("list", "--json", "--hub", hub, token=token)
    listed = json.loads(out)["conversations"]
    assert code == 0 and NAME in {c["customer"]["name"] for c in listed} and not FORBIDDEN.findall(out)
    code, out, _ = await wadesk("show", cid, "--json", "--hub", hub)
    assert code == 0 and [m["id"] for m in json.loads(out)["messages"]] == [m.id for m in context.store.messages(cid)]
    code, out, _ = await wadesk("reply", cid, "JSON reply", "--json", "--key", "hub-key-0001", "--hub", hub)
    told = json.loads(out)
    assert (code, told["outcome"], told["key"], told["message"]["id"]) == (0, "sent", "hub-key-0001", "hub-key-0001")
    code, out, _ = await wadesk("template", cid, "order_update", "--language", "es", "--param", "1=a", "--param", "2=b",
                                "--param", "3=c", "--json", "--hub", hub)
    assert (code, json.loads(out)["message"]["template"]) == (0, "order_update (es)")
    code, out, _ = await wadesk("note", cid, "JSON note", "--json", "--hub", hub)
    assert code == 0 and json.loads(out)["message"]["agent"] == "ana"
    code, out, _ = await wadesk("assign", cid, "bob", "--json", "--hub", hub)
    assert (code, json.loads(out)) == (0, {"conversation_id": cid, "assignee": "bob"})
    code, out, _ = await wadesk("resolve", cid, "--json", "--hub", hub)
    assert (code, json.loads(out)) == (0, {"conversation_id": cid, "status": "resolved"})


async def test_the_config_names_the_hub(
    hub: str, wadesk, context: DeskContext, directory: PgDirectory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "config.toml").write_text(f'backend = "hub"\n[hub]\nurl = "{hub}"\ntoken_env = "TEAM_TOKEN"\n')
    monkeypatch.setenv("TEAM_TOKEN", directory.add("ana"))
    code, out, err = await wadesk("list")
    assert (code, err) == (0, "") and len(out.splitlines()) == len(context.store.conversations())


async def test_tokens_that_are_refused(hub: str, wadesk, directory: PgDirectory) -> None:
    code, out, err = await wadesk("list", "--hub", hub)
    assert (code, out) == (1, "")
    one_sentence(err, "No token for the hub", "WADESK_HUB_TOKEN")
    code, out, err = await wadesk("list", "--hub", hub, token="wdk_never-given")
    assert (code, out) == (1, "")
    one_sentence(err, "The hub does not know this token")
    token = directory.add("ana")
    assert (await wadesk("list", "--hub", hub, token=token))[0] == 0
    directory.revoke("ana")
    code, out, err = await wadesk("list", "--hub", hub)
    assert (code, out) == (1, "")
    one_sentence(err, "agent ana was revoked on", "Ask an admin for a new one")


async def test_outside_the_agents_departments(hub: str, wadesk, context: DeskContext, directory: PgDirectory) -> None:
    token = directory.add("sam", Role.AGENT, ["Support"])
    code, out, _ = await wadesk("list", "--hub", hub, token=token)
    assert code == 0 and {line.split("~")[0] for line in out.splitlines()} == {SUPPORT}
    sales = open_one(context, SALES)
    for command in (("show", sales), ("reply", sales, "Not mine to answer"), ("resolve", sales)):
        code, out, err = await wadesk(*command, "--hub", hub)
        assert (code, out) == (1, ""), command
        one_sentence(err, "outside your departments")
    assert all(m.text != "Not mine to answer" for m in context.store.messages(sales))


async def test_a_hub_that_cannot_be_reached(wadesk) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = await wadesk("list", "--hub", f"http://127.0.0.1:{port}", token="wdk_any")
    assert (code, out) == (1, "")
    one_sentence(err, f"Cannot reach the hub at http://127.0.0.1:{port}")


async def test_a_send_whose_outcome_is_unknown_says_so(hub: str, wadesk, context: DeskContext, directory: PgDirectory,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    async def send_text(*args: object, **kwargs: object) -> Sent:
        raise OutcomeUnknown("the connection dropped after the request left")

    monkeypatch.setattr(context.backend, "send_text", send_text)
    cid = open_one(context)
    code, out, err = await wadesk("reply", cid, "Maybe sent", "--hub", hub, token=directory.add("ana"))
    assert (code, out) == (1, "")
    one_sentence(err, "Outcome unknown", "It may have reached the customer; it was not sent again.")
    code, out, _ = await wadesk("reply", cid, "Maybe sent", "--json", "--hub", hub)
    assert (code, json.loads(out)["outcome"], json.loads(out)["message"]["status"]) == (1, "unknown", "unknown")


async def test_a_send_still_queued_when_the_wait_ends(hub: str, wadesk, context: DeskContext, directory: PgDirectory,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    release = asyncio.Event()
    real = context.backend.send_text

    async def slow(*args: Any, **kwargs: Any) -> Sent:
        await release.wait()
        return await real(*args, **kwargs)

    monkeypatch.setattr(context.backend, "send_text", slow)
    cid = open_one(context)
    code, out, err = await wadesk("reply", cid, "Slow one", "--wait", "0", "--json", "--hub", hub, token=directory.add("ana"))
    told = json.loads(out)
    assert (code, err, told["outcome"]) == (1, "", "queued")
    assert told["sentence"].startswith("Still ") and "do not send it again" in told["sentence"]
    release.set()


def test_a_reply_lost_on_the_way_names_the_key_that_makes_a_retry_safe() -> None:
    """The connection dropped after the request left: the hub may have the message. The sentence
    says how to find out, and the key that sends it at most once if the script tries again."""
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    client = HubClient("http://hub.test", "wdk_t", transport=httpx.MockTransport(drop))
    args = argparse.Namespace(command="reply", id="pn1~1", text="Hello", key="retry-key-0001", wait=5.0, json=False)
    with pytest.raises(Refused) as refused:
        Command(args, client, view=lambda: pytest.fail("no view needed")).run()
    assert "Cannot reach the hub at http://hub.test (no answer in time)." in str(refused.value)
    assert "--key retry-key-0001 never sends it twice" in str(refused.value)
