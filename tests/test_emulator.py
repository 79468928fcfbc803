"""The Cloud API emulator answers and calls back like Meta: over real HTTP on 127.0.0.1.

The emulator runs on a FrozenClock and a small aiohttp receiver stands in for the desk's webhook
endpoint, checking every signature itself. Requests are made with plain httpx, shapes are compared
with Meta's own examples (tests/fixtures/meta). Nothing sleeps: a test waits for a webhook on a
queue, bounded by asyncio.wait_for, or moves the clock with /_emulator/advance, which answers only
once the receiver has answered every delivery.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from backends.mock.people import Person
from desk.clock import FrozenClock
from desk.config import MockConfig
from desk.models import Direction, MessageReceived, MessageStatus, StatusChanged, TemplateStatus
from desk.window import window
from emulator import cli as emulator_module
from emulator.cli import serve_emulator
from emulator.delivery import RETRY_FIRST
from emulator.encode import webhook_bytes, webhook_for
from emulator.server import Emulator
from emulator.templates import template_document

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
TOKEN, SECRET, WABA = "emulator-test-token", "emulator-test-secret", "102290129340398"
VERSION = "v24.0"
SALES, SUPPORT = "100000000000001", "100000000000002"
FIXTURES = Path(__file__).parent / "fixtures" / "meta"
WAIT = 10.0
"""Upper bound for one webhook to arrive (it takes milliseconds)."""


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def quiet(**changes: Any) -> MockConfig:
    """No trickle and no failures unless a test asks for them."""
    return replace(MockConfig(), **{"inbound_per_minute": 0.0, "failure_rate": 0.0, **changes})


def as_of_2026(example: dict[str, Any]) -> dict[str, Any]:
    """One of Meta's 2025 webhook examples as webhooks are since 2026 (§11): every contact has a
    business-scoped `user_id`, every sender a `from_user_id` (the BSUID's value does not matter
    to `shape`)."""
    doc = copy.deepcopy(example)
    for change in (c for e in doc["entry"] for c in e["changes"]):
        for contact in change["value"].get("contacts", []):
            contact["user_id"] = "US.13491208655302741918"
        for message in change["value"].get("messages", []):
            message["from_user_id"] = "US.13491208655302741918"
    return doc


def shape(value: Any) -> Any:
    """The structure of a JSON value: keys all the way down, leaves as type names."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


# --- the receiver -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hook:
    raw: bytes
    headers: dict[str, str]
    signed: bool
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        return json.loads(self.raw)


class Receiver:
    """A webhook endpoint that checks the HMAC itself and answers 401 when it is wrong."""

    def __init__(self) -> None:
        self.hooks: list[Hook] = []
        self.answers: list[int] = []
        """Statuses to answer the next signed deliveries with (then 200)."""
        self._queue: asyncio.Queue[Hook] = asyncio.Queue()
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/webhook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/webhook"

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        signed = hmac.compare_digest(request.headers.get("X-Hub-Signature-256", ""), expected)
        answered = (self.answers.pop(0) if self.answers else 200) if signed else 401
        hook = Hook(raw, dict(request.headers), signed, answered)
        self.hooks.append(hook)
        self._queue.put_nowait(hook)
        return web.Response(status=answered, text="ok" if answered == 200 else "no")

    async def next(self) -> Hook:
        return await asyncio.wait_for(self._queue.get(), WAIT)

    def drain(self) -> list[Hook]:
        """Every hook received and not yet taken with `next`."""
        taken = []
        while not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


Make = Callable[..., Awaitable[Emulator]]


@pytest.fixture
async def make(receiver: Receiver) -> AsyncIterator[Make]:
    started: list[Emulator] = []

    async def build(config: MockConfig | None = None, **options: Any) -> Emulator:
        options.setdefault("receiver_url", receiver.url)
        emulator = Emulator(config or quiet(), FrozenClock(NOW), token=TOKEN, app_secret=SECRET, waba_id=WABA, **options)
        await emulator.start("127.0.0.1", 0)
        started.append(emulator)
        return emulator

    yield build
    for emulator in started:
        await emulator.stop()


@pytest.fixture
async def emu(make: Make) -> Emulator:
    return await make()


@pytest.fixture
async def http(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emu.url, headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def customer(emu: Emulator, *, window_open: bool, number_id: str | None = None) -> tuple[str, Person]:
    """A (phone_number_id, customer with a phone) whose window is open or closed now."""
    sim, now = emu.simulation, emu.clock.now()
    for number in sim.numbers:
        if number_id and number.id != number_id:
            continue
        for person in sim.people:
            last = sim.last_inbound(number.id, person.id)
            if person.customer.phone and last is not None and window(last, now).open is window_open:
                return number.id, person
    raise AssertionError("the mock's history has no such conversation")


def text_body(to: str, body: str = "Hello from the desk") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text",
            "text": {"body": body, "preview_url": False}}


def template_body(to: str, name: str, language: str, *values: str, names: tuple[str, ...] = ()) -> dict[str, Any]:
    parameters = [{"type": "text", "text": v} for v in values]
    for parameter, name_ in zip(parameters, names):
        parameter["parameter_name"] = name_
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "template",
            "template": {"name": name, "language": {"code": language},
                         "components": [{"type": "body", "parameters": parameters}]}}


def assert_graph_error(response: httpx.Response, code: int, http_status: int) -> dict[str, Any]:
    assert response.status_code == http_status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert isinstance(error["fbtrace_id"], str) and error["fbtrace_id"]
    return error


# --- sending --------------------------------------------------------------------------------------------


async def test_text_inside_the_window_is_accepted_with_metas_response(emu: Emulator, http: httpx.AsyncClient):
    number_id, person = customer(emu, window_open=True)
    response = await http.post(f"/{VERSION}/{number_id}/messages", json=text_body(person.customer.phone))

    assert response.status_code == 200, response.text
    body = response.json()
    example = fixture("send-message-response-examples.json")["Example response"]
    assert shape(body) == shape(example)
    assert body["contacts"] == [{"input": person.customer.phone, "wa_id": person.id}]
    assert body["messages"][0]["id"].startswith("wamid.")


async def test_text_outside_the_window_is_131047_with_http_400(emu: Emulator, http: httpx.AsyncClient, receiver: Receiver):
    number_id, person = customer(emu, window_open=False)
    response = await http.post(f"/{VERSION}/{number_id}/messages", json=text_body(person.customer.phone))

    error = assert_graph_error(response, 131047, 400)
    assert error["message"] == "(#131047) Re-engagement message"
    assert set(error) == {"message", "type", "code", "error_data", "fbtrace_id"}
    assert error["error_data"]["messaging_product"] == "whatsapp"
    assert "24 hours" in error["error_data"]["details"]
    assert await emu.advance(3600) == []  # nothing was accepted, so no status ever comes
    assert receiver.hooks == []


async def test_async_window_errors_accept_then_fail_in_a_status_webhook(make: Make, receiver: Receiver):
    emu = await make(window_errors="async")
    number_id, person = customer(emu, window_open=False)
    async with httpx.AsyncClient(base_url=emu.url, headers={"Authorization": f"Bearer {TOKEN}"}) as http:
        response = await http.post(f"/{VERSION}/{number_id}/messages", json=text_body(person.customer.phone))
    assert response.status_code == 200, response.text
    wamid = response.json()["messages"][0]["id"]

    hook = await receiver.next()  # delivered at once: no clock move needed
    assert hook.signed
    value = hook.payload["entry"][0]["changes"][0]["value"]
    assert value["metadata"]["phone_number_id"] == number_id
    [status] = value["statuses"]
    assert status["id"] == wamid
    assert status["status"] == "failed"
    assert status["recipient_id"] == person.id
    assert status["errors"][0]["code"] == 131047
    assert set(status["errors"][0]) >= {"code", "title", "message", "error_data"}
    assert await emu.advance(3600) == []  # and no sent/delivered/read after the failure


async def test_template_errors_come_from_the_mocks_catalogue(emu: Emulator, http: httpx.AsyncClient):
    number_id, person = customer(emu, window_open=False, number_id=SALES)
    phone = person.customer.phone
    url = f"/{VERSION}/{number_id}/messages"

    too_few = await http.post(url, json=template_body(phone, "order_update", "en_US", "Jo", "#123"))
    assert_graph_error(too_few, 132000, 400)
    unknown = await http.post(url, json=template_body(phone, "no_such_template", "en_US"))
    assert_graph_error(unknown, 132001, 400)
    wrong_language = await http.post(url, json=template_body(phone, "order_update", "fr", "Jo", "#123", "shipped"))
    assert_graph_error(wrong_language, 132001, 400)
    paused = await http.post(url, json=template_body(phone, "spring_sale", "en_US", "Jo", "20%", "SPRING"))
    assert_graph_error(paused, 132015, 400)

    # Outside the window an approved template is what does go through, positional or named.
    ok = await http.post(url, json=template_body(phone, "order_update", "en_US", "Jo", "#123", "shipped"))
    assert ok.status_code == 200, ok.text
    named = template_body(phone, "delivery_delay", "en-US", "Jo", "#123", "Friday",
                          names=("first_name", "order_id", "delivery_date"))
    assert (await http.post(url, json=named)).status_code == 200
    blank = template_body(phone, "order_update", "en_US", "Jo", "", "shipped")
    assert_graph_error(await http.post(url, json=blank), 132000, 400)


async def test_request_builders_of_the_cloud_backend_are_understood(emu: Emulator, http: httpx.AsyncClient):
    payloads = pytest.importorskip("backends.cloud.payloads")
    sim = emu.simulation
    number_id, person = customer(emu, window_open=True, number_id=SALES)
    url = f"/{VERSION}/{number_id}/messages"
    assert (await http.post(url, json=payloads.text(person.customer, "Thanks, checking now"))).status_code == 200
    for template in sim.templates(number_id):
        if not template.sendable:
            continue
        values = {name: f"value {name}" for name in template.parameters()}
        response = await http.post(url, json=payloads.template(person.customer, template, values))
        assert response.status_code == 200, (template.key, response.text)
    lena = sim.people[1].customer  # the username-only customer: addressed by BSUID in "recipient"
    lena_number = next(n.id for n in sim.numbers if sim.last_inbound(n.id, lena.id))
    response = await http.post(f"/{VERSION}/{lena_number}/messages", json=payloads.text(lena, "Hallo Lena"))
    assert response.status_code == 200, response.text
    assert response.json()["contacts"] == [{"input": lena.id, "user_id": lena.id}]


async def test_unknown_recipient_and_bad_requests(emu: Emulator, http: httpx.AsyncClient):
    url = f"/{VERSION}/{SALES}/messages"
    assert_graph_error(await http.post(url, json=text_body("+15550009999")), 131026, 400)
    assert_graph_error(await http.post(url, json=text_body("not a number")), 100, 400)
    assert_graph_error(await http.post(url, json={"to": "+15550009999", "type": "text"}), 100, 400)
    assert_graph_error(await http.post(url, content=b"{not json"), 100, 400)
    assert_graph_error(await http.post(f"/{VERSION}/999/messages", json=text_body("+1")), 100, 400)
    assert_graph_error(await http.post(f"/v18.0/{SALES}/messages", json=text_body("+1")), 2635, 400)


async def test_a_wrong_or_missing_token_is_190_with_http_401(emu: Emulator):
    number_id, person = customer(emu, window_open=True)
    async with httpx.AsyncClient(base_url=emu.url) as anonymous:
        url = f"/{VERSION}/{number_id}/messages"
        wrong = await anonymous.post(url, json=text_body(person.customer.phone), headers={"Authorization": "Bearer nope"})
        error = assert_graph_error(wrong, 190, 401)
        assert "access token" in error["message"]
        assert "WWW-Authenticate" in wrong.headers
        assert_graph_error(await anonymous.post(url, json=text_body(person.customer.phone)), 190, 401)
        assert_graph_error(await anonymous.get(f"/{VERSION}/{WABA}/message_templates"), 190, 401)


async def test_mark_read_answers_success(emu: Emulator, http: httpx.AsyncClient):
    number_id, person = customer(emu, window_open=True)
    example = fixture("send-message-request-examples.json")["Send typing indicator and read receipt"]
    response = await http.post(f"/{VERSION}/{number_id}/messages", json=example)
    assert response.status_code == 200
    assert response.json() == fixture("send-message-response-examples.json")["Send typing indicator and read receipt"]


# --- statuses and webhooks ------------------------------------------------------------------------------


async def test_a_send_then_advance_delivers_its_statuses_in_order(emu: Emulator, http: httpx.AsyncClient, receiver: Receiver):
    number_id, person = customer(emu, window_open=True)
    response = await http.post(f"/{VERSION}/{number_id}/messages", json=text_body(person.customer.phone))
    wamid = response.json()["messages"][0]["id"]

    advanced = await http.post("/_emulator/advance", json={"seconds": 120})
    assert advanced.status_code == 200
    hooks = receiver.drain()
    assert advanced.json()["statuses"] == [200] * len(hooks)
    statuses = [h.payload["entry"][0]["changes"][0]["value"]["statuses"][0] for h in hooks]
    assert all(h.signed for h in hooks)
    assert {s["id"] for s in statuses} == {wamid}
    names = [s["status"] for s in statuses]
    assert names in (["sent", "delivered", "read"], ["sent", "read"])  # delivered may be skipped (§6.5)
    times = [int(s["timestamp"]) for s in statuses]
    assert times == sorted(times) and times[0] >= int(NOW.timestamp())
    assert all(s["recipient_id"] == person.id and "conversation" not in s for s in statuses)  # v24 shape


async def test_customer_writes_arrives_signed_in_metas_envelope(emu: Emulator, http: httpx.AsyncClient, receiver: Receiver):
    number_id, person = customer(emu, window_open=False)
    response = await http.post("/_emulator/customer_writes", json={
        "phone_number_id": number_id, "customer_id": person.customer.phone, "text": "Ist mein Paket unterwegs? Ça va, ☺"})
    assert response.status_code == 200, response.text
    assert response.json()["statuses"] == [200]

    hook = await receiver.next()
    assert hook.signed
    assert hook.headers["Content-Type"] == "application/json"
    assert b"\\u00c7a va, \\u263a" in hook.raw  # non-ASCII escaped as Meta does, and signed that way
    example = fixture("webhook-examples.json")["Text Message"]
    assert shape(hook.payload) == shape(as_of_2026(example))
    value = hook.payload["entry"][0]["changes"][0]["value"]
    assert hook.payload["entry"][0]["id"] == WABA
    assert value["metadata"] == {"display_phone_number": "".join(c for c in emu.display_numbers[number_id] if c.isdigit()),
                                 "phone_number_id": number_id}
    assert value["contacts"] == [{"profile": {"name": person.customer.name}, "wa_id": person.id,
                                  "user_id": value["contacts"][0]["user_id"]}]
    message = value["messages"][0]
    assert message["from"] == person.id and message["id"] == response.json()["id"]
    assert message["text"] == {"body": "Ist mein Paket unterwegs? Ça va, ☺"}

    # The customer wrote, so the window is open again: free text goes through now.
    sent = await http.post(f"/{VERSION}/{number_id}/messages", json=text_body(person.customer.phone))
    assert sent.status_code == 200, sent.text


async def test_deliver_raw_sends_copies_shuffled_and_bad_signatures(emu: Emulator, http: httpx.AsyncClient, receiver: Receiver):
    first = fixture("webhook-examples.json")["Text Message"]
    second = fixture("webhook-examples.json")["Reaction Message"]
    response = await http.post("/_emulator/deliver_raw", json={"body": [first, second], "times": 3, "shuffle": True, "seed": 4})
    assert response.json()["statuses"] == [200] * 6
    hooks = receiver.drain()
    assert len(hooks) == 6 and all(h.signed for h in hooks)
    assert sorted(h.raw for h in hooks) == sorted([webhook_bytes(first)] * 3 + [webhook_bytes(second)] * 3)
    assert [h.raw for h in hooks] != [webhook_bytes(first)] * 3 + [webhook_bytes(second)] * 3  # shuffled

    bad = await http.post("/_emulator/deliver_raw", json={"body": first, "signature": "bad"})
    missing = await http.post("/_emulator/deliver_raw", json={"raw": '{"object":"x"}', "signature": "missing"})
    assert bad.json()["statuses"] == [401] and missing.json()["statuses"] == [401]
    assert [h.signed for h in receiver.drain()] == [False, False]
    assert (await http.post("/_emulator/advance", json={"seconds": 3600})).json()["statuses"] == []  # raw is not retried


async def test_deliver_in_process_with_duplicates(emu: Emulator, receiver: Receiver):
    number_id, person = customer(emu, window_open=True)
    event = emu.simulation.customer_writes(number_id, person.id, NOW, "text", "refund")
    assert await emu.deliver([event], duplicates=3, shuffle=True) == [200, 200, 200]
    hooks = receiver.drain()
    assert len({h.raw for h in hooks}) == 1 and len(hooks) == 3


async def test_a_refused_webhook_is_retried_later(emu: Emulator, receiver: Receiver):
    number_id, person = customer(emu, window_open=True)
    receiver.answers = [500, 503]
    event = emu.simulation.customer_writes(number_id, person.id, NOW, "text", "order")
    assert await emu.deliver([event]) == [500]
    assert await emu.advance(RETRY_FIRST - 1) == []
    assert await emu.advance(1) == [503]  # the first retry, refused again: the next is twice as late
    assert await emu.advance(RETRY_FIRST) == []
    assert await emu.advance(RETRY_FIRST) == [200]
    bodies = [h.raw for h in receiver.drain()]
    assert len(bodies) == 3 and len(set(bodies)) == 1
    assert await emu.advance(3600) == []


async def test_without_a_receiver_webhooks_wait_until_one_is_set(make: Make, receiver: Receiver):
    emu = await make(receiver_url=None)
    number_id, person = customer(emu, window_open=True)
    assert await emu.deliver([emu.simulation.customer_writes(number_id, person.id, NOW)]) == [0]
    async with httpx.AsyncClient(base_url=emu.url) as http:
        response = await http.post("/_emulator/receiver", json={"url": receiver.url})
        assert response.json()["statuses"] == [200]
        state = (await http.get("/_emulator/state")).json()
    assert state["retry_queue"] == 0 and state["delivered"] == 1 and state["clock"] == "frozen"


async def test_customers_lists_the_simulated_people(emu: Emulator, http: httpx.AsyncClient):
    people = (await http.get("/_emulator/customers")).json()
    assert len(people) == len(emu.simulation.people)
    lena = next(p for p in people if p["phone"] is None)
    assert lena["id"].startswith("DE.") and lena["username"] == "@lena.k" and lena["number_ids"]
    assert all(set(p) == {"id", "user_id", "name", "phone", "username", "number_ids"} for p in people)


async def test_advance_needs_a_frozen_clock(receiver: Receiver):
    from desk.clock import SystemClock

    emu = Emulator(quiet(), SystemClock(), token=TOKEN, app_secret=SECRET, waba_id=WABA, receiver_url=receiver.url)
    await emu.start()
    try:
        async with httpx.AsyncClient(base_url=emu.url) as http:
            assert (await http.post("/_emulator/advance", json={"seconds": 1})).status_code == 409
    finally:
        await emu.stop()


# --- templates ------------------------------------------------------------------------------------------


async def test_templates_page_through_paging_next(emu: Emulator, http: httpx.AsyncClient):
    url: str | None = f"{emu.url}/{VERSION}/{WABA}/message_templates?limit=4"
    pages, documents = 0, []
    while url:
        response = await http.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        documents += body["data"]
        assert set(body["paging"]["cursors"]) == {"before", "after"}
        url = body["paging"].get("next")
        assert url is None or url.startswith(emu.url)
    example = fixture("message-templates-list-examples.json")["Example response"]["data"][0]
    sim = emu.simulation
    expected = {(t.name, t.language) for n in sim.numbers for t in sim.templates(n.id)}
    assert len(documents) == len(expected) and pages == -(-len(expected) // 4)
    assert {(d["name"], d["language"]) for d in documents} == expected
    assert {"APPROVED", "PENDING", "REJECTED", "PAUSED"} <= {d["status"] for d in documents}
    for doc in documents:
        assert set(example) - {"previous_category"} <= set(doc)
        assert doc["components"][0]["type"] in ("HEADER", "BODY")
        assert doc["parameter_format"] in ("POSITIONAL", "NAMED")

    filtered = (await http.get(f"/{VERSION}/{WABA}/message_templates", params={"status": "PAUSED"})).json()
    assert filtered["data"] and {d["status"] for d in filtered["data"]} == {"PAUSED"}
    assert "next" not in filtered["paging"]
    assert_graph_error(await http.get(f"/{VERSION}/{WABA}/message_templates", params={"after": "garbage!"}), 100, 400)
    assert_graph_error(await http.get(f"/{VERSION}/123/message_templates"), 100, 400)


def test_template_documents_read_back_as_the_same_templates():
    templates = pytest.importorskip("backends.cloud.templates")
    from backends.mock.catalogue import catalogue

    for number_index, number_id in enumerate((SALES, SUPPORT)):
        for template in catalogue(number_id, number_index):
            assert templates.template_from_graph(template_document(template), number_id) == template


# --- media ----------------------------------------------------------------------------------------------


async def test_media_upload_lookup_and_download(emu: Emulator, http: httpx.AsyncClient):
    data = b"%PDF-1.4\n% an invoice\n%%EOF\n"
    files = {"file": ("invoice.pdf", data, "application/pdf")}
    form = {"messaging_product": "whatsapp", "type": "application/pdf"}
    uploaded = await http.post(f"/{VERSION}/{SALES}/media", data=form, files=files)
    assert uploaded.status_code == 200, uploaded.text
    media_id = uploaded.json()["id"]
    assert set(uploaded.json()) == {"id"}

    info = (await http.get(f"/{VERSION}/{media_id}")).json()
    assert set(info) == {"messaging_product", "url", "mime_type", "sha256", "file_size", "id"}
    assert info["id"] == media_id and info["mime_type"] == "application/pdf" and info["file_size"] == str(len(data))
    assert info["url"].startswith(emu.url + "/_media/")
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(info["url"])).status_code == 401
    download = await http.get(info["url"])
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(download.content).hexdigest() == info["sha256"]
    assert download.content == data

    # The URL lasts 5 minutes; a fresh lookup gives a working one.
    await emu.advance(301)
    assert (await http.get(info["url"])).status_code == 404
    assert (await http.get((await http.get(f"/{VERSION}/{media_id}")).json()["url"])).status_code == 200

    # Sent by id inside the window; an unknown id or a wrong type is refused.
    number_id, person = customer(emu, window_open=True, number_id=SALES)
    document = {"messaging_product": "whatsapp", "to": person.customer.phone, "type": "document",
                "document": {"id": media_id, "filename": "invoice.pdf", "caption": "Your invoice"}}
    assert (await http.post(f"/{VERSION}/{number_id}/messages", json=document)).status_code == 200
    document["document"]["id"] = "1234"
    assert_graph_error(await http.post(f"/{VERSION}/{number_id}/messages", json=document), 100, 400)
    exe = {"file": ("x.exe", b"MZ", "application/x-msdownload")}
    assert_graph_error(await http.post(f"/{VERSION}/{SALES}/media", data={"messaging_product": "whatsapp"}, files=exe),
                       131053, 400)

    assert (await http.delete(f"/{VERSION}/{media_id}")).json() == {"success": True}
    assert_graph_error(await http.get(f"/{VERSION}/{media_id}"), 100, 400)


async def test_inbound_media_can_be_downloaded_and_matches_the_webhook(emu: Emulator, http: httpx.AsyncClient, receiver: Receiver):
    number_id, person = customer(emu, window_open=True)
    for kind in ("image", "document", "voice"):
        await http.post("/_emulator/customer_writes", json={"phone_number_id": number_id, "customer_id": person.id, "kind": kind})
        message = (await receiver.next()).payload["entry"][0]["changes"][0]["value"]["messages"][0]
        part = message[message["type"]]
        assert set(part) >= {"id", "mime_type", "sha256"}
        if kind == "voice":
            assert message["type"] == "audio" and part["voice"] is True
        info = (await http.get(f"/{VERSION}/{part['id']}")).json()
        data = (await http.get(info["url"])).content
        assert base64.b64encode(hashlib.sha256(data).digest()).decode() == part["sha256"]
        assert info["sha256"] == hashlib.sha256(data).hexdigest()

    # A history image has its file too, and the shape of Meta's image example.
    example = fixture("webhook-examples.json")["Image Message"]
    image = next(e for e in emu.history_events() if isinstance(e, MessageReceived) and e.message.type == "image")
    payload = webhook_for([image], waba_id=WABA, display_numbers=emu.display_numbers)
    assert shape(payload) == shape(as_of_2026(example))
    media = image.message.media
    assert media is not None and (await http.get(f"/{VERSION}/{media.media_id}")).status_code == 200


# --- encode round trip ----------------------------------------------------------------------------------


def test_webhooks_parse_back_to_the_same_events():
    webhook = pytest.importorskip("backends.cloud.webhook")
    from backends.mock.simulation import Simulation

    sim = Simulation(quiet(), NOW)
    displays = {n.id: n.display for n in sim.numbers}
    history = [e for e in sim.history() if isinstance(e, MessageReceived) and e.message.direction is Direction.INBOUND]
    number_id = history[-1].business_number_id
    sent = sim.send_text(number_id, history[-1].customer.id, "On its way", NOW)
    statuses = [e for e in sim.due_events(NOW + timedelta(hours=1)) if isinstance(e, StatusChanged)]
    assert statuses and all(s.wamid == sent.wamid for s in statuses)
    failed = StatusChanged(number_id, history[-1].customer.id, sent.wamid, MessageStatus.FAILED, NOW, 131047, None)
    events = [*history, *statuses]

    one_body = webhook.parse_webhook(webhook_for(events, waba_id=WABA, display_numbers=displays))
    one_each = [e for event in events for e in webhook.parse_webhook(webhook_for([event], waba_id=WABA, display_numbers=displays)).events]
    assert one_body.skipped == 0
    # One body holds one change per number: the events come back grouped by number, each group in order.
    assert sorted(map(_key, one_body.events)) == sorted(map(_key, events))
    assert list(map(_key, one_each)) == list(map(_key, events))
    kinds = {e.message.type for e in history}
    assert {"text", "image", "document", "voice", "audio", "location", "contacts", "reaction", "unsupported"} <= kinds
    assert any(e.customer.phone is None for e in history)  # the username-only customer
    assert any(e.message.referral is not None for e in history)  # customers who came from an ad
    assert statuses[0].pricing is not None  # the sent status is priced

    for original, parsed in zip(events, one_each):
        if isinstance(original, StatusChanged):
            assert parsed == replace(original, timestamp=_second(original.timestamp))
            continue
        a, b = original.message, parsed.message
        assert (b.id, b.type, b.timestamp, b.direction, b.reply_to, b.reaction_to, b.error_code, b.location, b.contacts,
                b.referral) == (
            a.id, a.type, a.timestamp, a.direction, a.reply_to, a.reaction_to, a.error_code, a.location, a.contacts,
            a.referral)
        assert b.conversation_id == a.conversation_id
        assert replace(parsed.customer, country=a_country(original)) == original.customer
        if a.type in ("text", "image", "document", "contacts", "reaction"):
            # From an ad, the parser notes it before the text.
            assert b.text == a.text if a.referral is None else b.text.endswith(f"] {a.text}")
        if a.media is not None:
            assert replace(b.media, size=a.media.size) == a.media  # a webhook does not say the size

    [back] = webhook.parse_webhook(webhook_for([failed], waba_id=WABA, display_numbers=displays)).events
    assert (back.status, back.error_code, back.wamid) == (MessageStatus.FAILED, 131047, sent.wamid)


def a_country(event: MessageReceived) -> str | None:
    """The customer's country: the mock knows it, a webhook does not carry it."""
    return event.customer.country


def _second(at: datetime) -> datetime:
    """Webhook timestamps are whole seconds; the mock times its statuses to the microsecond."""
    return at.replace(microsecond=0)


def _key(event: Any) -> tuple[str, ...]:
    if isinstance(event, StatusChanged):
        return ("status", event.wamid, event.status.value, _second(event.timestamp).isoformat())
    return ("message", event.message.id, event.message.type, event.message.timestamp.isoformat(), event.customer.id)


def test_template_status_webhook_parses_as_a_template_update():
    webhook = pytest.importorskip("backends.cloud.webhook")
    from backends.mock.catalogue import catalogue
    from emulator.encode import template_status_webhook

    template = next(t for t in catalogue(SALES, 0) if t.status is TemplateStatus.PAUSED)
    payload = template_status_webhook(WABA, template, "PAUSED", None, at=NOW,
                                      other_info={"title": "FIRST_PAUSE", "description": "Low quality"})
    [update] = webhook.parse_webhook(payload).template_updates
    assert (update.template_id, update.name, update.language, update.status) == (template.id, template.name, template.language, "PAUSED")
    assert update.reason == "Low quality" and update.at == NOW


# --- the CLI --------------------------------------------------------------------------------------------


async def test_serve_emulator_delivers_the_history_as_webhooks(receiver: Receiver, capsys: pytest.CaptureFixture[str]):
    ready = asyncio.Event()
    task = asyncio.create_task(serve_emulator(
        "127.0.0.1", 0, receiver.url, token=TOKEN, app_secret=SECRET, waba_id=WABA, config=quiet(), speed=1.0, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), WAIT)
        # The same seed makes the same history: one body per event, our messages as echoes.
        expected = Emulator(quiet(), FrozenClock(NOW), token=TOKEN, app_secret=SECRET, waba_id=WABA,
                            receiver_url=None).history_events()
        hooks = [await receiver.next() for _ in expected]
        assert all(h.signed and h.answered == 200 for h in hooks)
        fields = {h.payload["entry"][0]["changes"][0]["field"] for h in hooks}
        assert fields == {"messages", "smb_message_echoes"}
        reported = capsys.readouterr().err.splitlines()  # one line on stderr per webhook delivered
        assert sum(f"-> {receiver.url}: 200" in line for line in reported) == len(hooks)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_main_reads_secrets_only_from_the_environment(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.delenv("WHATSAPP_ACCESS_TOKEN", raising=False)
    monkeypatch.setenv("WHATSAPP_APP_SECRET", "s")
    assert emulator_module.main(["--port", "0"]) == 2
    assert "WHATSAPP_ACCESS_TOKEN" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        emulator_module.main(["--token", "secret"])  # there is no such flag

    calls: list[dict[str, Any]] = []

    async def fake_serve(*args: Any, **kwargs: Any) -> None:
        calls.append({"args": args, **kwargs})

    monkeypatch.setattr(emulator_module, "serve_emulator", fake_serve)
    monkeypatch.setenv("MY_TOKEN", "t0ken")
    assert emulator_module.main(["--token-env", "MY_TOKEN", "--port", "9999", "--speed", "30"]) == 0
    [call] = calls
    assert call["token"] == "t0ken" and call["app_secret"] == "s" and call["speed"] == 30.0
    assert call["args"] == ("127.0.0.1", 9999, "http://127.0.0.1:8787/webhook")


# --- what it tells the person running it ---------------------------------------------------------------


async def test_it_reports_a_line_per_request_and_per_webhook_without_secrets(make: Make, receiver: Receiver):
    lines: list[str] = []
    emu = await make(report=lines.append)
    number_id, person = customer(emu, window_open=True)
    async with httpx.AsyncClient(base_url=emu.url) as client:
        wrote = await client.post("/_emulator/customer_writes", json={
            "phone_number_id": number_id, "customer_id": person.customer.phone, "text": "a private text"})
        sent = await client.post(f"/{VERSION}/{number_id}/messages", json=text_body(person.customer.phone),
                                 headers={"Authorization": f"Bearer {TOKEN}"})
        refused = await client.get(f"/{VERSION}/{number_id}")  # no token: 401
    assert (wrote.status_code, sent.status_code, refused.status_code) == (200, 200, 401)
    assert lines == [
        f"12:00:00 webhook 1 message -> {receiver.url}: 200",
        "12:00:00 POST /_emulator/customer_writes -> 200",
        f"12:00:00 POST /{VERSION}/{number_id}/messages -> 200",
        f"12:00:00 GET /{VERSION}/{number_id} -> 401",
    ]
    assert not any(secret in "\n".join(lines) for secret in (TOKEN, SECRET, "a private text"))


async def test_a_status_can_be_forced_for_a_message_the_desk_sent(emu: Emulator, http: httpx.AsyncClient, receiver: Receiver):
    number_id, person = customer(emu, window_open=True)
    wamid = (await http.post(f"/{VERSION}/{number_id}/messages", json=text_body(person.customer.phone))).json()["messages"][0]["id"]
    receiver.drain()
    forced = await http.post("/_emulator/status", json={
        "phone_number_id": number_id, "customer_id": person.customer.phone, "status": "failed"})
    assert forced.status_code == 200 and forced.json() == {"wamid": wamid, "statuses": [200]}
    status = (await receiver.next()).payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    assert (status["id"], status["status"], status["errors"][0]["code"]) == (wamid, "failed", 131026)
    read = await http.post("/_emulator/status", json={"wamid": wamid, "status": "read"})
    assert read.json()["statuses"] == [200]
    assert (await http.post("/_emulator/status", json={"wamid": "wamid.nope", "status": "read"})).status_code == 400
    assert (await http.post("/_emulator/status", json={"wamid": wamid, "status": "read", "code": 1})).status_code == 400


def test_help_lists_the_control_endpoints(capsys: pytest.CaptureFixture[str]):
    from tui.cli import main as wadesk

    with pytest.raises(SystemExit) as exit_:
        wadesk(["emulator", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for endpoint in ("/_emulator/customer_writes", "/_emulator/status", "/_emulator/deliver_raw", "/_emulator/advance",
                     "/_emulator/customers", "/_emulator/state"):
        assert endpoint in out


async def test_a_lone_surrogate_escape_in_a_control_request_is_neutralised(emu: Emulator, http: httpx.AsyncClient,
                                                                            receiver: Receiver):
    """The standard library reads `\\ud800` into a str that the webhook's encoder (orjson) refuses: a 500."""
    number_id, person = customer(emu, window_open=True)
    raw = json.dumps({"phone_number_id": number_id, "customer_id": person.customer.phone, "text": "broken SURROGATE"})
    wrote = await http.post("/_emulator/customer_writes", content=raw.replace("SURROGATE", "\\ud800").encode())
    assert wrote.status_code == 200, wrote.text
    message = (await receiver.next()).payload["entry"][0]["changes"][0]["value"]["messages"][0]
    assert message["text"]["body"] == "broken \ufffd"
