"""The agents' HTTP API (hub/api.py, docs/team.md) over real HTTP on loopback, on the embedded
store: reads, every action signed and audited, sends recorded once per idempotency key, the
24-hour window, departments, errors as sentences, and the event stream resumed exactly."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from backends.base import Sent
from desk.clock import FrozenClock
from desk.codec import conversation_from_row, message_from_doc
from desk.models import MessageStatus
from desk.window import window
from engine.context import DeskContext
from hub.access import Agent, Role
from tests.conftest import make_context
from tests.hub_helpers import local_api, serving

SALES = "100000000000001"


@pytest.fixture
def context(data_dir: Path, clock: FrozenClock) -> DeskContext:
    made = make_context(data_dir, clock)
    yield made
    made.store.close()


def open_one(context: DeskContext, *, business_number_id: str | None = None) -> str:
    now = context.clock.now()
    for c in context.store.conversations():
        if window(c.last_inbound_at, now).open and business_number_id in (None, c.business_number_id):
            return c.id
    raise AssertionError("the mock's history has an open window")


def closed_one(context: DeskContext) -> str:
    now = context.clock.now()
    return next(c.id for c in context.store.conversations() if not window(c.last_inbound_at, now).open)


@pytest.fixture
async def api(context: DeskContext) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with local_api(context) as (url, services, dispatch):
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield client, dispatch


async def test_reads_give_what_the_store_holds(api, context: DeskContext) -> None:
    client, _ = api
    me = (await client.get("/me")).json()
    assert me == {"agent": "agent", "role": "admin", "departments": []}
    numbers = (await client.get("/numbers")).json()
    assert [n["department"] for n in numbers] == ["Sales", "Support"]
    listed = (await client.get("/conversations")).json()
    assert listed["last_change"] == context.store.last_change()
    rows = [conversation_from_row(row) for row in listed["conversations"]]
    assert sorted(rows, key=lambda c: c.id) == sorted(context.store.conversations(), key=lambda c: c.id)
    cid = rows[0].id
    shown = (await client.get(f"/conversations/{cid}")).json()
    assert [message_from_doc(m, cid) for m in shown["messages"]] == context.store.messages(cid)


async def test_one_key_three_times_is_one_message_and_one_send(api, context: DeskContext, monkeypatch) -> None:
    client, dispatch = api
    sends: list[str] = []

    async def send_text(business_number_id, customer, text, reply_to=None, **kwargs) -> Sent:
        sends.append(text)
        return Sent("wamid.ONE", context.clock.now())

    monkeypatch.setattr(context.backend, "send_text", send_text)
    cid = open_one(context)
    answers = [
        await client.post(f"/conversations/{cid}/reply", json={"key": "0f0e-key-1", "text": "On its way"}) for _ in range(3)
    ]
    assert {a.status_code for a in answers} == {200}
    assert {a.json()["message"]["id"] for a in answers} == {"0f0e-key-1"}
    await dispatch.settled()
    assert sends == ["On its way"]
    sent = [m for m in context.store.messages(cid) if m.id == "0f0e-key-1"]
    assert [(m.status, m.wamid, m.agent) for m in sent] == [(MessageStatus.SENT, "wamid.ONE", "agent")]


async def test_free_text_after_the_window_is_refused_in_a_sentence(api, context: DeskContext) -> None:
    client, _ = api
    cid = closed_one(context)
    answer = await client.post(f"/conversations/{cid}/reply", json={"key": "closed-key-1", "text": "Hello?"})
    assert answer.status_code == 422
    assert answer.json() == {"code": "window_closed", "error": "The 24-hour window is closed: only an approved template can reach the customer now."}
    assert all(m.id != "closed-key-1" for m in context.store.messages(cid))


async def test_every_action_is_signed_and_in_the_audit_log(api, context: DeskContext) -> None:
    client, _ = api
    cid = open_one(context)
    for path, doc in (
        ("assign", {"assignee": "bob"}), ("priority", {"priority": "urgent"}), ("labels", {"labels": ["vip"]}),
        ("status", {"status": "pending"}), ("note", {"text": "Called them back"}),
    ):
        answer = await client.post(f"/conversations/{cid}/{path}", json=doc)
        assert answer.status_code == 200, answer.text
    conversation = context.store.conversation(cid)
    assert (conversation.assignee, conversation.priority.value, conversation.labels, conversation.status.value) == (
        "bob", "urgent", ("vip",), "pending"
    )
    audit = (await client.get(f"/conversations/{cid}")).json()["audit"]
    assert [(e["action"], e["by"]) for e in audit[-5:]] == [
        ("assigned", "agent"), ("priority", "agent"), ("labels", "agent"), ("status", "agent"), ("note", "agent")
    ]


@pytest.mark.parametrize(
    ("path", "doc", "status", "code", "words"),
    [
        ("/conversations/nobody~0/note", {"text": "x"}, 404, "not_found", "There is no conversation nobody~0."),
        ("{cid}/status", {"status": "asleep"}, 422, "invalid", "status must be one of open"),
        ("{cid}/note", {"text": "  "}, 422, "invalid", "text must be a non-empty string."),
        ("{cid}/reply", {"text": "no key"}, 422, "invalid", "key must be an idempotency key"),
        ("{cid}/labels", {"labels": "vip"}, 422, "invalid", "labels must be a list of strings."),
        ("{cid}/read", {"upto": "yesterday"}, 422, "invalid", "upto must be a time in seconds since the epoch."),
    ],
)
async def test_a_refusal_is_a_status_and_a_sentence(api, context: DeskContext, path, doc, status, code, words) -> None:
    client, _ = api
    answer = await client.post(path.replace("{cid}", f"/conversations/{open_one(context)}"), json=doc)
    assert answer.status_code == status
    assert answer.json()["code"] == code and answer.json()["error"].startswith(words)


async def test_a_body_that_is_not_json_is_refused(api, context: DeskContext) -> None:
    client, _ = api
    answer = await client.post(f"/conversations/{open_one(context)}/note", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["error"]) == (422, "The request's body is not JSON.")


@dataclasses.dataclass
class OneAgent:
    agent: Agent

    def who(self, token: str | None) -> Agent:
        return self.agent


async def test_an_agent_outside_a_department_cannot_read_it(context: DeskContext) -> None:
    async with local_api(context) as (url, services, _):
        sales = Agent("sam", Role.AGENT, frozenset({"Sales"}))
        api = dataclasses.replace(services, directory=OneAgent(sales))
        from hub.api import api_app

        async with serving(api_app(api)) as sam_url, httpx.AsyncClient(base_url=sam_url) as client:
            rows = [conversation_from_row(r) for r in (await client.get("/conversations")).json()["conversations"]]
            assert rows and {c.business_number_id for c in rows} == {SALES}
            support = next(c.id for c in context.store.conversations() if c.business_number_id != SALES)
            for answer in (
                await client.get(f"/conversations/{support}"),
                await client.post(f"/conversations/{support}/note", json={"text": "peek"}),
            ):
                assert answer.status_code == 403
                assert answer.json() == {"code": "forbidden", "error": "This conversation is outside your departments."}
            assert [n["department"] for n in (await client.get("/numbers")).json()] == ["Sales"]


async def changes_seen(client: httpx.AsyncClient, count: int, **headers: str) -> list[tuple[str, str]]:
    """The first `count` change events of a new stream: (id, conversation)."""
    seen: list[tuple[str, str]] = []
    async with aconnect_sse(client, "GET", "/events", headers=headers) as source:
        async for event in source.aiter_sse():
            if event.event == "change":
                seen.append((event.id, event.json()["conversation_id"]))
                if len(seen) == count:
                    return seen
    raise AssertionError("the stream ended")


async def test_a_reconnecting_client_gets_exactly_what_it_missed(api, context: DeskContext) -> None:
    client, _ = api
    cids = [c.id for c in context.store.conversations()][:6]
    start = str(context.store.last_change())
    await client.post(f"/conversations/{cids[0]}/priority", json={"priority": "high"})
    first = await asyncio.wait_for(changes_seen(client, 1, **{"Last-Event-ID": start}), 10)
    assert [cid for _, cid in first] == [cids[0]]
    for cid in cids[1:]:  # committed while the client is away
        await client.post(f"/conversations/{cid}/priority", json={"priority": "high"})
    missed = await asyncio.wait_for(changes_seen(client, 5, **{"Last-Event-ID": first[0][0]}), 10)
    assert [cid for _, cid in missed] == cids[1:]
    ids = [int(i) for i, _ in first + missed]
    assert ids == sorted(ids) and len(set(ids)) == 6


async def test_a_resume_point_that_is_not_a_number_is_refused(api) -> None:
    client, _ = api
    answer = await client.get("/events", headers={"Last-Event-ID": "soon"})
    assert (answer.status_code, answer.json()["code"]) == (422, "invalid")
