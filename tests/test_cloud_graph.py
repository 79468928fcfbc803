"""The Graph client against a real HTTP server on 127.0.0.1 (aiohttp, ephemeral port): what is
retried, what is never resent, how errors map, that the token never leaks; and the pacer."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from backends.base import Sent
from backends.cloud import payloads
from backends.cloud.graph import Graph, Unreachable
from backends.cloud.media_file import MediaIntegrityError
from backends.cloud.pacing import Pacer
from backends.errors import (
    REFUSED_CODES,
    AuthError,
    OutcomeUnknown,
    TemplateError,
    TemporaryError,
    ThrottledError,
    WhatsAppError,
    WindowClosedError,
)
from desk.clock import FrozenClock
from desk.models import TemplateStatus

META = Path(__file__).parent / "fixtures" / "meta"
RESPONSES: dict[str, Any] = json.loads((META / "send-message-response-examples.json").read_text(encoding="utf-8"))
LISTING: dict[str, Any] = json.loads((META / "message-templates-list-examples.json").read_text(encoding="utf-8"))

TOKEN = "EAAG-secret-token-0123456789abcdef"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
PNID = "100000000000001"
PHONE = "+16505551234"
SENT_EXAMPLE = RESPONSES["Example response"]

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Hit:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeGraph:
    """Answers each (method, path) from a script, in order; the last answer repeats."""

    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    scripts: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    never: asyncio.Event = field(default_factory=asyncio.Event)
    """A handler that awaits this never answers (set at teardown)."""

    def script(self, method: str, path: str, *replies: Reply | tuple[int, Any]) -> None:
        self.scripts[(method, path)] = [r if callable(r) else _json_reply(*r) for r in replies]

    def hits_on(self, path: str) -> list[Hit]:
        return [h for h in self.hits if h.path == path]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.hits.append(Hit(request.method, request.path, dict(request.query), dict(request.headers), body))
        replies = self.scripts.get((request.method, request.path))
        if not replies:
            return web.json_response({"error": {"code": 100, "message": "no such path"}}, status=404)
        reply = replies.pop(0) if len(replies) > 1 else replies[0]
        return await reply(request)


def _json_reply(status: int, doc: Any) -> Reply:
    async def reply(request: web.Request) -> web.StreamResponse:
        if isinstance(doc, (bytes, str)):
            return web.Response(status=status, body=doc if isinstance(doc, bytes) else doc.encode())
        return web.json_response(doc, status=status)

    return reply


def graph_error(code: int, details: str = "details", message: str = "title") -> dict[str, Any]:
    return {
        "error": {
            "message": f"(#{code}) {message}",
            "type": "OAuthException",
            "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        }
    }


@pytest.fixture
async def server() -> AsyncIterator[FakeGraph]:
    fake = FakeGraph()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    yield fake
    fake.never.set()
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


class Sleeps(list):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_graph(http: httpx.AsyncClient, sleeps: Sleeps) -> Callable[..., Graph]:
    def make(url: str, timeout: float = 5.0) -> Graph:
        return Graph(http, url, "v24.0", TOKEN, FrozenClock(NOW), timeout, sleep=sleeps)

    return make


def messages_path(number: str = PNID) -> str:
    return f"/v24.0/{number}/messages"


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text


def assert_error_hides_token(err: BaseException) -> None:
    assert_no_token(str(err), repr(err), "".join(traceback.format_exception(err)))


def assert_logs_hide_token(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert_no_token(record.getMessage(), repr(record.args), str(record.__dict__))


# --- sending ---------------------------------------------------------------------------------------


async def test_send_returns_the_wamid_and_sends_the_token_only_in_the_header(server, make_graph, caplog):
    caplog.set_level(logging.DEBUG)
    server.script("POST", messages_path(), (200, SENT_EXAMPLE))
    graph = make_graph(server.url)
    payload = payloads.text(PHONE, "Hello")

    sent = await graph.send_message(PNID, payload)

    assert sent == Sent(SENT_EXAMPLE["messages"][0]["id"], NOW)
    [hit] = server.hits
    assert hit.headers["Authorization"] == f"Bearer {TOKEN}"
    assert json.loads(hit.body) == payload
    assert TOKEN not in json.dumps(hit.query) and TOKEN.encode() not in hit.body
    assert caplog.records, "the client logs its requests (httpx included)"
    assert_logs_hide_token(caplog)
    assert_no_token(repr(graph), str(graph))


async def test_mark_read_posts_the_read_payload(server, make_graph):
    server.script("POST", messages_path(), (200, {"success": True}))
    await make_graph(server.url).mark_read(PNID, "wamid.IN")
    assert json.loads(server.hits[0].body) == payloads.read("wamid.IN")


@pytest.mark.parametrize(
    "code, status, kind",
    [(131047, 400, WindowClosedError), (132000, 400, TemplateError), (132001, 404, TemplateError), (190, 401, AuthError)],
)
async def test_graph_errors_map_to_the_table_and_are_not_retried(server, make_graph, sleeps, caplog, code, status, kind):
    caplog.set_level(logging.DEBUG)
    # A (pathological) server echoing the token in its details: it still never reaches the agent.
    server.script("POST", messages_path(), (status, graph_error(code, details=f"bad request for {TOKEN}")))
    with pytest.raises(kind) as caught:
        await make_graph(server.url).send_message(PNID, payloads.text(PHONE, "hi"))
    err = caught.value
    assert (err.code, err.http_status) == (code, status)
    assert err.details.startswith("bad request for")
    assert len(server.hits) == 1 and sleeps == []
    assert_error_hides_token(err)
    assert_logs_hide_token(caplog)


async def test_throttling_is_retried_with_backoff_then_succeeds(server, make_graph, sleeps):
    server.script("POST", messages_path(), (429, graph_error(130429)), (429, graph_error(130429)), (200, SENT_EXAMPLE))
    sent = await make_graph(server.url).send_message(PNID, payloads.text(PHONE, "hi"))
    assert sent.wamid == SENT_EXAMPLE["messages"][0]["id"]
    assert len(server.hits) == 3
    assert sleeps == [0.5, 1.0]


async def test_throttling_that_never_ends_is_raised_after_three_retries(server, make_graph, sleeps):
    server.script("POST", messages_path(), (429, graph_error(80007)))
    with pytest.raises(ThrottledError) as caught:
        await make_graph(server.url).send_message(PNID, payloads.text(PHONE, "hi"))
    assert caught.value.code == 80007 and caught.value.code in REFUSED_CODES
    assert len(server.hits) == 4 and sleeps == [0.5, 1.0, 2.0]


async def test_downtime_503_is_retried_even_without_a_graph_body(server, make_graph, sleeps):
    server.script("POST", messages_path(), (503, b"<html>Service Unavailable</html>"), (503, graph_error(2)), (200, SENT_EXAMPLE))
    await make_graph(server.url).send_message(PNID, payloads.text(PHONE, "hi"))
    assert len(server.hits) == 3


async def test_pair_rate_limit_is_not_retried_here(server, make_graph, sleeps):
    server.script("POST", messages_path(), (400, graph_error(131056)))
    with pytest.raises(ThrottledError) as caught:
        await make_graph(server.url).send_message(PNID, payloads.text(PHONE, "hi"))
    assert caught.value.code == 131056
    assert len(server.hits) == 1 and sleeps == []


@pytest.mark.parametrize("reply", [(500, graph_error(131000)), (500, graph_error(1)), (502, b"Bad Gateway")])
async def test_a_server_error_on_a_send_is_outcome_unknown_and_never_resent(server, make_graph, sleeps, reply):
    server.script("POST", messages_path(), reply)
    with pytest.raises(OutcomeUnknown):
        await make_graph(server.url).send_message(PNID, payloads.text(PHONE, "hi"))
    assert len(server.hits) == 1 and sleeps == []


async def test_a_server_error_on_a_get_is_retried(server, make_graph, sleeps):
    server.script("GET", "/v24.0/555", (500, graph_error(1)), (502, b"Bad Gateway"), (200, {"url": "u", "id": "555"}))
    assert (await make_graph(server.url).media_url("555"))["id"] == "555"
    assert len(server.hits) == 3 and sleeps == [0.5, 1.0]


async def test_a_send_whose_answer_never_comes_is_outcome_unknown_and_sent_once(server, make_graph, sleeps, caplog):
    caplog.set_level(logging.DEBUG)

    async def hang(request: web.Request) -> web.StreamResponse:
        await server.never.wait()
        return web.json_response(SENT_EXAMPLE)

    server.script("POST", messages_path(), hang)
    with pytest.raises(OutcomeUnknown) as caught:
        await make_graph(server.url, timeout=0.2).send_message(PNID, payloads.text(PHONE, "hi"))
    assert "ReadTimeout" in str(caught.value)
    assert len(server.hits) == 1, "a send that may have gone is never resent"
    assert sleeps == []
    assert_error_hides_token(caught.value)
    assert_logs_hide_token(caplog)


async def test_a_connection_dropped_mid_send_is_outcome_unknown(server, make_graph, sleeps):
    async def drop(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.abort()
        await server.never.wait()
        return web.Response()

    server.script("POST", messages_path(), drop)
    with pytest.raises(OutcomeUnknown):
        await make_graph(server.url).send_message(PNID, payloads.text(PHONE, "hi"))
    assert len(server.hits) == 1 and sleeps == []


async def test_a_get_that_times_out_is_retried(server, make_graph, sleeps):
    async def hang(request: web.Request) -> web.StreamResponse:
        await server.never.wait()
        return web.Response()

    server.script("GET", "/v24.0/555", hang, (200, {"id": "555"}))
    assert (await make_graph(server.url, timeout=0.2).media_url("555")) == {"id": "555"}
    assert len(server.hits) == 2 and sleeps == [0.5]


async def test_an_unreachable_server_is_retried_then_a_clear_error_not_outcome_unknown(make_graph, sleeps, caplog):
    """The request never left, so it certainly did not send: a retryable TemporaryError
    (Unreachable), never OutcomeUnknown, which would make the desk show "may have been sent"."""
    caplog.set_level(logging.DEBUG)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unreachable) as caught:
        await make_graph(f"http://127.0.0.1:{port}").send_message(PNID, payloads.text(PHONE, "hi"))
    err = caught.value
    assert isinstance(err, TemporaryError) and isinstance(err, WhatsAppError) and not isinstance(err, OutcomeUnknown)
    assert err.code in REFUSED_CODES  # turned away before anything was done: safe to resend
    assert "Could not reach WhatsApp" in str(err) and "nothing was sent" in err.sentence
    assert sleeps == [0.5, 1.0, 2.0]
    assert_error_hides_token(err)
    assert_logs_hide_token(caplog)


async def test_the_token_goes_to_no_other_host(server, make_graph):
    graph = make_graph(server.url)
    with pytest.raises(ValueError, match="Refusing"):
        await graph.request("GET", "http://127.0.0.2:9/v24.0/x", idempotent=True)
    assert server.hits == []


# --- templates -------------------------------------------------------------------------------------


async def test_the_template_list_follows_paging_next_across_three_pages(server, make_graph):
    example = LISTING["Example response"]
    hello, promo = example["data"]
    path = "/v24.0/WABA1/message_templates"
    page1 = {"data": [hello, promo], "paging": {"cursors": {"before": "A", "after": "B"}, "next": f"{server.url}{path}?limit=100&after=B"}}
    named = {
        "id": "3", "name": "order_ready", "language": "en", "status": "PENDING", "category": "UTILITY",
        "parameter_format": "NAMED", "components": [{"type": "BODY", "text": "Hi {{first_name}}"}],
    }
    # A next URL carrying a token in its query: the client strips it (the token is in the header).
    page2 = {"data": [named], "paging": {"cursors": {"before": "B", "after": "C"}, "next": f"{server.url}{path}?after=C&access_token=LEAK"}}
    page3 = {"data": [dict(hello, id="4", language="de")], "paging": {"cursors": {"before": "C", "after": "D"}}}

    async def pages(request: web.Request) -> web.StreamResponse:
        return web.json_response({None: page1, "B": page2, "C": page3}[request.query.get("after")])

    server.script("GET", path, pages)
    templates = await make_graph(server.url).list_templates("WABA1", ["n1", "n2"])

    assert len(server.hits) == 3
    first = server.hits[0]
    assert first.query == {"fields": "name,language,status,category,components,parameter_format,id", "limit": "100"}
    assert all(h.headers["Authorization"] == f"Bearer {TOKEN}" for h in server.hits)
    assert all("access_token" not in h.query for h in server.hits)
    assert [(t.business_number_id, t.name, t.language) for t in templates] == [
        (n, name, lang)
        for n in ("n1", "n2")
        for name, lang in (("hello_world", "en_US"), ("2023_april_promo", "en_US"), ("order_ready", "en"), ("hello_world", "de"))
    ]
    order_ready = templates[2]
    assert order_ready.parameter_format == "NAMED" and order_ready.status is TemplateStatus.PENDING


# --- media -----------------------------------------------------------------------------------------


CONTENT = b"\xff\xd8\xff\xe0 a small jpeg" * 1000


def media_info(server: FakeGraph, sha256: str, url_path: str = "/lookaside/file") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "url": f"{server.url}{url_path}?ext=1&hash=abc",
        "mime_type": "image/jpeg",
        "sha256": sha256,
        "file_size": str(len(CONTENT)),
        "id": "777",
    }


async def test_media_is_downloaded_with_the_token_checked_and_saved_atomically(server, make_graph, tmp_path):
    server.script("GET", "/v24.0/777", (200, media_info(server, hashlib.sha256(CONTENT).hexdigest())))
    server.script("GET", "/lookaside/file", (200, CONTENT))
    dest = tmp_path / "media"

    path = await make_graph(server.url).download_media("777", dest)

    assert path == dest / "777.jpg"
    assert path.read_bytes() == CONTENT
    assert sorted(p.name for p in dest.iterdir()) == ["777.jpg"], "no temporary file left behind"
    download = server.hits_on("/lookaside/file")[0]
    assert download.headers["Authorization"] == f"Bearer {TOKEN}"


async def test_media_with_a_wrong_checksum_is_refused_and_nothing_is_kept(server, make_graph, tmp_path):
    server.script("GET", "/v24.0/777", (200, media_info(server, hashlib.sha256(b"something else").hexdigest())))
    server.script("GET", "/lookaside/file", (200, CONTENT))
    dest = tmp_path / "media"
    with pytest.raises(MediaIntegrityError, match="does not match the checksum"):
        await make_graph(server.url).download_media("777", dest)
    assert list(dest.iterdir()) == []


async def test_an_expired_media_url_is_fetched_again_once(server, make_graph, tmp_path):
    good = hashlib.sha256(CONTENT).hexdigest()
    server.script(
        "GET", "/v24.0/777",
        (200, media_info(server, good, "/lookaside/old")),
        (200, media_info(server, good, "/lookaside/new")),
    )
    server.script("GET", "/lookaside/old", (404, b"Not Found"))
    server.script("GET", "/lookaside/new", (200, CONTENT))
    path = await make_graph(server.url).download_media("777", tmp_path)
    assert path.read_bytes() == CONTENT
    assert len(server.hits_on("/v24.0/777")) == 2


async def test_upload_media_is_multipart(server, make_graph, tmp_path):
    file = tmp_path / "invoice.pdf"
    file.write_bytes(b"%PDF-1.4 invoice")
    server.script("POST", f"/v24.0/{PNID}/media", (200, {"id": "MEDIA9"}))
    media_id = await make_graph(server.url).upload_media(PNID, file, "application/pdf")
    assert media_id == "MEDIA9"
    hit = server.hits[0]
    assert hit.headers["Content-Type"].startswith("multipart/form-data")
    body = hit.body
    for part in (b'name="messaging_product"', b"whatsapp", b'name="type"', b"application/pdf", b'name="file"; filename="invoice.pdf"', b"%PDF-1.4 invoice"):
        assert part in body


# --- pacing ----------------------------------------------------------------------------------------


class FakeTime:
    """A clock in seconds whose sleep moves it: a pacer's waits add up exactly."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_a_pair_gets_a_burst_of_ten_then_one_message_every_six_seconds():
    t = FakeTime()
    pacer = Pacer(t, sleep=t.sleep)
    waits = [await pacer.wait("n1", "cust") for _ in range(12)]
    assert waits == [0.0] * 10 + [6.0, 6.0]
    # Another recipient, or the same one from another number, is not held back by that pair.
    assert await pacer.wait("n1", "other") == 0.0
    assert await pacer.wait("n2", "cust") == 0.0
    # After N x 6 s of quiet the whole burst is back.
    t.now += 12 * 6
    assert [await pacer.wait("n1", "cust") for _ in range(11)] == [0.0] * 10 + [6.0]


async def test_the_number_rate_is_a_token_bucket():
    t = FakeTime()
    pacer = Pacer(t, rate=2.0, sleep=t.sleep)
    waits = [await pacer.wait("n1", f"c{i}") for i in range(5)]
    assert waits == [0.0, 0.0, 0.5, 0.5, 0.5]


async def test_concurrent_waiters_are_queued_in_order_without_overlap():
    t = FakeTime()
    slept: list[float] = []

    async def record(seconds: float) -> None:  # the clock does not move: reservations do the work
        slept.append(seconds)

    pacer = Pacer(t, pair_burst=2, sleep=record)
    waits = await asyncio.gather(*(pacer.wait("n1", "cust") for _ in range(5)))
    assert list(waits) == [0.0, 0.0, 6.0, 12.0, 18.0]
    assert slept == [6.0, 12.0, 18.0]


async def test_the_pacer_accepts_the_desk_clock():
    clock = FrozenClock(NOW)

    async def advance(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    pacer = Pacer(clock, pair_burst=1, sleep=advance)
    assert [await pacer.wait("n1", "c") for _ in range(3)] == [0.0, 6.0, 6.0]
    assert clock.now() == NOW + timedelta(seconds=12)


async def test_signed_media_urls_never_reach_the_log_not_even_httpx_own(server, make_graph, tmp_path, caplog):
    """A media URL's query is its signature (valid 5 minutes for anyone holding the token)."""
    signature = "oh=SIGNATURE-0123456789&oe=6750AB12"
    info = {**media_info(server, hashlib.sha256(CONTENT).hexdigest()), "url": f"{server.url}/lookaside/file?{signature}"}
    server.script("GET", "/v24.0/777", (200, info))
    server.script("GET", "/lookaside/file", (200, CONTENT))
    caplog.set_level(logging.DEBUG)
    await make_graph(server.url).download_media("777", tmp_path)
    assert server.hits_on("/lookaside/file")[0].query["oh"] == "SIGNATURE-0123456789"
    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert any(f"GET {server.url}/lookaside/file " in line for line in requests), requests
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "aiohttp.access")  # not the fake server's
    assert "SIGNATURE" not in ours and "oe=" not in ours


async def test_a_template_with_a_lone_surrogate_escape_is_read_neutralised(server, make_graph):
    doc = {"data": [{"name": "t", "language": "en_US", "status": "APPROVED", "category": "UTILITY", "id": "1",
                     "components": [{"type": "BODY", "text": "Hi SURROGATE"}]}]}
    raw = json.dumps(doc).replace("SURROGATE", "\\udc00")
    server.script("GET", "/v24.0/WABA/message_templates", (200, raw))
    (template,) = await make_graph(server.url).list_templates("WABA", [PNID])
    assert template.body == "Hi \ufffd"
