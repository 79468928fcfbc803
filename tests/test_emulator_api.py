"""The emulator speaks today's Cloud API, so a client library or a bot works against it unchanged:
over real HTTP on 127.0.0.1, the answers and webhooks checked against Meta's documented shapes
(tests/fixtures/meta, ../shared/reference/whatsapp-cloud-api.md).

The fixtures (an emulator on a FrozenClock, a receiver that checks every signature) are those of
tests/test_emulator.py. Nothing sleeps: a webhook is awaited on the receiver's queue, and
/_emulator/advance answers only once every delivery it made was answered.
"""

from __future__ import annotations

import httpx
import phonenumbers

from desk.models import Direction, MessageReceived
from emulator.identity import BSUID
from emulator.server import Emulator
from tests import test_emulator as base
from tests.test_emulator import VERSION, WABA, Make, Receiver, assert_graph_error, customer, fixture, shape, text_body

receiver, make, emu, http = base.receiver, base.make, base.emu, base.http
"""The fixtures of tests/test_emulator.py, for pytest to find here."""


def value_of(hook) -> dict:
    [entry] = hook.payload["entry"]
    [change] = entry["changes"]
    return change["value"]


# --- every webhook names the customer both ways (§11) ---------------------------------------------------


async def test_messages_statuses_and_echoes_carry_the_wa_id_and_the_bsuid(emu: Emulator, http, receiver: Receiver,
                                                                           make: Make):
    number_id, person = customer(emu, window_open=True)
    wa_id = person.id

    await http.post("/_emulator/customer_writes", json={"phone_number_id": number_id, "customer_id": wa_id, "text": "hi"})
    value = value_of(await receiver.next())
    [contact] = value["contacts"]
    user_id = contact["user_id"]
    assert contact == {"profile": {"name": person.customer.name}, "wa_id": wa_id, "user_id": user_id}
    # The documented format: the number's country, ".", then up to 128 alphanumerics.
    assert BSUID.fullmatch(user_id), user_id
    country = phonenumbers.region_code_for_number(phonenumbers.parse(person.customer.phone))
    assert user_id.split(".")[0] == country
    [message] = value["messages"]
    assert (message["from"], message["from_user_id"]) == (wa_id, user_id)

    # A status names its recipient by number and by BSUID, and has the contact beside it.
    sent = await http.post(f"/{VERSION}/{number_id}/messages", json=text_body(person.customer.phone))
    wamid = sent.json()["messages"][0]["id"]
    await http.post("/_emulator/advance", json={"seconds": 120})
    hooks = receiver.drain()
    assert hooks
    for hook in hooks:
        value = value_of(hook)
        [status] = value["statuses"]
        assert status["id"] == wamid and status["status"] in ("sent", "delivered", "read")
        assert (status["recipient_id"], status["recipient_user_id"]) == (wa_id, user_id)
        assert value["contacts"] == [{"profile": {"name": person.customer.name}, "wa_id": wa_id, "user_id": user_id}]

    # A failed status comes without contacts, and without recipient_user_id for a message sent to a number.
    await http.post("/_emulator/status", json={"wamid": wamid, "status": "failed"})
    value = value_of(await receiver.next())
    [status] = value["statuses"]
    assert "contacts" not in value
    assert status["recipient_id"] == wa_id and "recipient_user_id" not in status

    # One of the business's own messages comes back as an echo, to the customer both ways.
    echo = next(e for e in emu.history_events() if isinstance(e, MessageReceived)
                and e.message.direction is Direction.OUTBOUND and e.customer.phone)
    await emu.deliver([echo])
    hook = await receiver.next()
    assert hook.payload["entry"][0]["changes"][0]["field"] == "smb_message_echoes"
    value = value_of(hook)
    [item] = value["message_echoes"]
    echo_user_id = value["contacts"][0]["user_id"]
    assert (item["to"], item["to_user_id"]) == (echo.customer.id, echo_user_id)
    assert value["contacts"] == [{"profile": {"name": echo.customer.name}, "wa_id": echo.customer.id, "user_id": echo_user_id}]

    # Stable: the same in every webhook, in the customer list, and in another emulator of the same account.
    listed = {p["id"]: p["user_id"] for p in (await http.get("/_emulator/customers")).json()}
    assert listed[wa_id] == user_id and listed[echo.customer.id] == echo_user_id
    assert (await make()).bsuids[user_id].id == wa_id


async def test_a_customer_known_only_by_username_has_no_phone_fields(emu: Emulator, http, receiver: Receiver):
    lena = emu.simulation.people[1].customer
    number_id = next(n.id for n in emu.simulation.numbers if emu.simulation.last_inbound(n.id, lena.id))
    await http.post("/_emulator/customer_writes", json={"phone_number_id": number_id, "customer_id": lena.id, "text": "Hallo"})
    value = value_of(await receiver.next())
    assert value["contacts"] == [{"profile": {"name": lena.name, "username": lena.username}, "user_id": lena.id}]
    [message] = value["messages"]
    assert message["from_user_id"] == lena.id and "from" not in message

    sent = await http.post(f"/{VERSION}/{number_id}/messages", json={
        "messaging_product": "whatsapp", "recipient": lena.id, "type": "text", "text": {"body": "Hallo Lena"}})
    assert sent.json()["contacts"] == [{"input": lena.id, "user_id": lena.id}]
    await http.post("/_emulator/advance", json={"seconds": 120})
    for hook in receiver.drain():
        value = value_of(hook)
        [status] = value["statuses"]
        assert status["recipient_user_id"] == lena.id and "recipient_id" not in status
        [contact] = value["contacts"]
        assert contact["user_id"] == lena.id and "wa_id" not in contact
        # The username is in delivered and read statuses, not in sent ones.
        assert ("username" in contact["profile"]) is (status["status"] != "sent")


async def test_a_bsuid_addresses_a_customer_and_to_wins_over_recipient(emu: Emulator, http, receiver: Receiver):
    number_id, person = customer(emu, window_open=True)
    user_id = next(p["user_id"] for p in (await http.get("/_emulator/customers")).json() if p["id"] == person.id)
    url = f"/{VERSION}/{number_id}/messages"

    by_bsuid = await http.post(url, json={"messaging_product": "whatsapp", "recipient_type": "individual",
                                          "recipient": user_id, "type": "text", "text": {"body": "Hi"}})
    assert by_bsuid.status_code == 200, by_bsuid.text
    assert by_bsuid.json()["contacts"] == [{"input": user_id, "user_id": user_id}]
    wamid = by_bsuid.json()["messages"][0]["id"]
    await http.post("/_emulator/advance", json={"seconds": 120})
    statuses = [value_of(h)["statuses"][0] for h in receiver.drain()]
    assert statuses and all((s["id"], s["recipient_user_id"]) == (wamid, user_id) for s in statuses)

    # Both given: "to" is the one that counts, and the answer is the phone number's.
    other = next(p for p in emu.simulation.people if p.id != person.id)
    both = await http.post(url, json={**text_body(person.customer.phone), "recipient": other.id})
    assert both.status_code == 200, both.text
    assert both.json()["contacts"] == [{"input": person.customer.phone, "wa_id": person.id}]
    assert emu.sent[both.json()["messages"][0]["id"]] == (number_id, person.id)


# --- the template list: fields, limit, cursors, summary (§4.1) --------------------------------------------


async def test_the_template_list_answers_fields_limit_cursors_and_summary(emu: Emulator, http):
    url = f"/{VERSION}/{WABA}/message_templates"
    example = fixture("message-templates-list-examples.json")["Example response"]
    counts = "total_count,message_template_count,message_template_limit,are_translations_complete"
    first = (await http.get(url, params={"fields": "name,status,language", "limit": "3", "summary": counts})).json()

    assert set(first) == {"data", "paging", "summary"}
    assert [list(d) for d in first["data"]] == [["name", "status", "language", "id"]] * 3  # asked for, then id
    assert set(first["paging"]["cursors"]) == set(example["paging"]["cursors"]) == {"before", "after"}
    assert "previous" not in first["paging"]  # nothing before the first page
    documents = first["data"]
    page = first
    while "next" in page["paging"]:  # a full URL that keeps the query (fields, limit, summary)
        assert page["paging"]["next"].startswith(emu.url)
        following = (await http.get(page["paging"]["next"])).json()
        assert following["summary"] == first["summary"]
        assert all(list(d) == ["name", "status", "language", "id"] for d in following["data"])
        assert 1 <= len(following["data"]) <= 3
        # ... and back again: previous is the page before, and so are before= and after= by hand.
        assert (await http.get(following["paging"]["previous"])).json()["data"] == page["data"]
        by_hand = {"fields": "name,status,language", "limit": "3"}
        before = (await http.get(url, params={**by_hand, "before": following["paging"]["cursors"]["before"]})).json()
        after = (await http.get(url, params={**by_hand, "after": page["paging"]["cursors"]["after"]})).json()
        assert (before["data"], after["data"]) == (page["data"], following["data"])
        documents += following["data"]
        page = following

    sim = emu.simulation
    expected = {(t.name, t.language) for n in sim.numbers for t in sim.templates(n.id)}
    assert sorted((d["name"], d["language"]) for d in documents) == sorted(expected)
    summary = first["summary"]
    assert list(summary) == counts.split(",")
    assert summary["total_count"] == len(expected)
    assert summary["message_template_count"] == len({name for name, _ in expected})  # a name in all its languages: one
    assert summary["message_template_limit"] == 250
    assert isinstance(summary["are_translations_complete"], bool)

    # summary=true is the total alone; filters take comma lists and narrow the total, not the account's count.
    assert (await http.get(url, params={"summary": "true", "limit": "1"})).json()["summary"] == {"total_count": len(expected)}
    some = (await http.get(url, params={"status": "APPROVED,PAUSED", "fields": "status", "summary": counts})).json()
    assert {d["status"] for d in some["data"]} == {"APPROVED", "PAUSED"}
    assert some["summary"]["total_count"] == len(some["data"]) < len(expected)
    assert some["summary"]["message_template_count"] == summary["message_template_count"]
    # Without fields, the default ones: those of Meta's example.
    default = (await http.get(url, params={"limit": "1"})).json()["data"][0]
    assert set(example["data"][0]) - {"previous_category"} <= set(default)


# --- every endpoint answers with Meta's shapes ---------------------------------------------------------------

UPLOADS = {"image": "image/png", "audio": "audio/ogg", "video": "video/mp4", "document": "application/pdf",
           "sticker": "image/webp"}


async def test_metas_own_send_examples_are_answered_with_metas_responses(emu: Emulator, http, receiver: Receiver):
    """Every free-form request example of Meta's OpenAPI file (text, each media by id and by link,
    location, contacts, interactive, reaction, replies with `context`, the read receipt with the
    typing indicator), placeholders filled in, gets Meta's answer. Templates are checked against the
    mock's catalogue (test_emulator.py): the examples name templates it does not have."""
    number_id, person = customer(emu, window_open=True)
    media_ids = {}
    for kind, mime in UPLOADS.items():
        uploaded = await http.post(f"/{VERSION}/{number_id}/media", data={"messaging_product": "whatsapp", "type": mime},
                                   files={"file": (f"a.{kind}", b"data", mime)})
        assert list(uploaded.json()) == ["id"], uploaded.text
        media_ids[kind] = uploaded.json()["id"]
    answers = {name.lower(): answer for name, answer in fixture("send-message-response-examples.json").items()}
    examples = fixture("send-message-request-examples.json")
    sent = 0
    for name, example in examples.items():
        if example.get("type") == "template":
            continue
        body = {**example, "to": person.customer.phone} if "to" in example else dict(example)
        kind = body.get("type")
        if kind in media_ids and "id" in body[kind]:
            body[kind] = {**body[kind], "id": media_ids[kind]}
        response = await http.post(f"/{VERSION}/{number_id}/messages", json=body)
        assert response.status_code == 200, (name, response.text)
        expected = answers.get(name.lower(), answers["example response"])
        assert shape(response.json()) == shape(expected), name
        sent += "messages" in response.json()
    assert sent == 40  # Meta's 50 examples: 9 templates, 1 read receipt, 40 messages

    # biz_opaque_callback_data (a send's "tracker") comes back in each of its statuses (§2, §6.5).
    tracked = await http.post(f"/{VERSION}/{number_id}/messages",
                              json={**text_body(person.customer.phone), "biz_opaque_callback_data": "order-4711"})
    wamid = tracked.json()["messages"][0]["id"]
    receiver.drain()
    await http.post("/_emulator/advance", json={"seconds": 120})
    statuses = [s for h in receiver.drain() for s in value_of(h)["statuses"] if s["id"] == wamid]
    assert statuses and all(s["biz_opaque_callback_data"] == "order-4711" for s in statuses)


async def test_graph_paths_answer_as_graph_does(emu: Emulator, http):
    number_id, person = customer(emu, window_open=True)
    # The version may be left out (§1): the default one is used.
    versionless = await http.post(f"/{number_id}/messages", json=text_body(person.customer.phone))
    assert versionless.status_code == 200 and versionless.json()["messages"][0]["id"].startswith("wamid.")
    assert (await http.get(f"/{WABA}/message_templates", params={"limit": "1"})).json()["data"]
    # fields on an object: those asked for, and the id.
    number = (await http.get(f"/{VERSION}/{number_id}", params={"fields": "display_phone_number"})).json()
    assert number == {"display_phone_number": emu.display_numbers[number_id], "id": number_id}
    # A path or method Graph does not serve is a Graph error object, not an HTML page.
    for method, path in (("GET", f"/{VERSION}/{number_id}/messages"), ("GET", f"/{VERSION}/{number_id}/no_such_edge"),
                         ("PUT", f"/{VERSION}/{number_id}"), ("POST", f"/{number_id}/no_such_edge")):
        error = assert_graph_error(await http.request(method, path), 100, 400)
        assert error["message"] == "(#100) Invalid parameter" and number_id in error["error_data"]["details"]
    # ... after the token check, as Graph does it.
    async with httpx.AsyncClient(base_url=emu.url) as anonymous:
        assert_graph_error(await anonymous.get(f"/{VERSION}/{number_id}/no_such_edge"), 190, 401)
    # A typing indicator is {"type": "text"}; anything else is refused.
    read = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X", "typing_indicator": {"type": "x"}}
    assert_graph_error(await http.post(f"/{VERSION}/{number_id}/messages", json=read), 100, 400)
