"""backends/hub/client.py on its own: each error answer of docs/team.md becomes its exception with
the hub's sentence, an unreachable hub is Offline naming the URL (and whether the request may
have arrived), and the token is in no repr, error or sentence. The flows against a real hub are
tests/test_hub_desk*.py."""

from __future__ import annotations

import json
import socket

import httpx
import pytest

from backends.hub.client import (
    Conflict,
    Forbidden,
    HubClient,
    HubError,
    Invalid,
    NotFound,
    Offline,
    Revoked,
    Unauthorized,
    Unavailable,
)

TOKEN = "tok-SECRET-5f2c"


def answering(status: int, body: object) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "unauthorized", Unauthorized),
        (401, "revoked", Revoked),
        (403, "forbidden", Forbidden),
        (404, "not_found", NotFound),
        (422, "invalid", Invalid),
        (503, "unavailable", Unavailable),
        (500, "", HubError),
        (403, "", Forbidden),  # no code: the status decides
    ],
)
def test_each_error_answer_is_its_exception_with_the_hubs_sentence(status: int, code: str, expected: type) -> None:
    sentence = f"The hub says no ({status})."
    client = HubClient("http://hub.test", TOKEN, transport=answering(status, {"error": sentence, "code": code}))
    with pytest.raises(HubError) as raised:
        client.me()
    assert type(raised.value) is expected
    assert raised.value.sentence == sentence == str(raised.value)


def test_a_lost_claim_names_who_has_the_conversation() -> None:
    body = {"error": "Bob has this conversation.", "code": "conflict", "assignee": "bob"}
    client = HubClient("http://hub.test", TOKEN, transport=answering(409, body))
    with pytest.raises(Conflict) as raised:
        client.claim("pn1~111")
    assert raised.value.assignee == "bob"


def test_invalid_is_a_value_error_as_the_store_contract_raises() -> None:
    client = HubClient("http://hub.test", TOKEN, transport=answering(422, {"error": "Too long.", "code": "invalid"}))
    with pytest.raises(ValueError, match="Too long."):
        client.save_quick_reply("hi", "x")


def test_an_error_without_a_sentence_still_says_something() -> None:
    client = HubClient("http://hub.test", TOKEN, transport=httpx.MockTransport(lambda r: httpx.Response(502, text="<html>")))
    with pytest.raises(HubError, match="502"):
        client.numbers()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_hub_that_is_not_there_is_offline_naming_its_url_and_never_the_token() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    client = HubClient(url, TOKEN)
    with pytest.raises(Offline) as raised:
        client.reply("pn1~111", "k1", "hello")
    assert url in raised.value.sentence
    assert raised.value.may_have_arrived is False  # refused at connect: the reply never left
    for text in (str(raised.value), repr(raised.value), repr(client)):
        assert TOKEN not in text


def test_a_connection_lost_after_the_request_left_may_have_arrived() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    client = HubClient("http://hub.test", TOKEN, transport=httpx.MockTransport(reset))
    with pytest.raises(Offline) as raised:
        client.reply("pn1~111", "k1", "hello")
    assert raised.value.may_have_arrived is True


def test_every_request_carries_the_token_and_the_documented_body() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"assignee": "ana"})

    client = HubClient("http://hub.test/", TOKEN, transport=httpx.MockTransport(record))
    assert client.assign("pn1~1/2", "ana") == "ana"
    (request,) = seen
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.url.raw_path == b"/api/v1/conversations/pn1~1%2F2/assign"
    assert json.loads(request.content) == {"assignee": "ana"}
