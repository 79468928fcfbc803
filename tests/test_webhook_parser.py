"""The webhook parser: Meta's 16 examples, status webhooks, several parts per body, template and
account updates, errors, a round trip through the real store, and property tests that it never
raises and never half-makes a message."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.cloud import webhook
from backends.cloud.webhook import Parsed, Problem, TemplateUpdate, collect, parse_body, parse_webhook
from backends.errors import describe, failure_text
from desk.clock import utc
from desk.models import (
    Customer,
    Direction,
    Location,
    Media,
    MessageReceived,
    MessageStatus,
    Pricing,
    Referral,
    StatusChanged,
    conversation_id,
)
from desk.store.tiny import TinyStore

EXAMPLES: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "meta" / "webhook-examples.json").read_text(encoding="utf-8")
)
GROUP_EXAMPLES = [name for name in EXAMPLES if name.startswith("Group ")]
MESSAGE_EXAMPLES = [name for name in EXAMPLES if name not in GROUP_EXAMPLES]

BN = "106540352242922"
SHEENA = Customer("16505551234", "Sheena Nelson", phone="+16505551234")
CID = conversation_id(BN, SHEENA.id)
PROPERTY = settings(max_examples=200, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True, scope="module")
def no_safety_net() -> Iterator[None]:
    """Without the per-part catch-all, an exception in the parser fails the test instead of being
    counted as a skip: the property tests then prove the parser itself never raises."""
    collect._SAFETY_NET = False
    yield
    collect._SAFETY_NET = True


def envelope(*changes: dict[str, Any], entry_time: int | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": "419561257915477", "changes": list(changes)}
    if entry_time is not None:
        entry["time"] = entry_time
    return {"object": "whatsapp_business_account", "entry": [entry]}


def messages_change(number: str = BN, **value: Any) -> dict[str, Any]:
    return {
        "field": "messages",
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": number},
            **value,
        },
    }


def only_message(parsed: Parsed) -> MessageReceived:
    assert parsed.skipped == 0
    assert len(parsed.events) == 1
    event = parsed.events[0]
    assert isinstance(event, MessageReceived)
    return event


# --- Meta's examples --------------------------------------------------------------------------------

EXPECTED: dict[str, dict[str, Any]] = {
    "Text Message": {"type": "text", "text": "Does it come in another color?"},
    "Text Message with Context (Product Inquiry)": {
        "type": "text",
        "text": "[about product di9ozbzfi4] Is this still available?",
        "reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA",
    },
    "Text Message from Click to WhatsApp Ad": {
        "type": "text",
        "text": "[from ad: Chat with us] Hello! Can I get more info on this?",
        "reply_to": None,
        "referral": Referral(
            source_url="https://fb.me/3cr4Wqqkv",
            source_type="ad",
            source_id="120226305854810726",
            headline="Chat with us",
            body="Summer Succulents are here!",
            media_type="image",
            ctwa_clid="Aff-n8ZTODiE79d22KtAwQKj9e_mIEOOj27vDVwFjN80dp4_0NiNhEgpGo0AHemvuSoifXaytfTzcchptiErTKCqTrJ5nW1h7IHYeYymGb5K5J5iTROpBhWAGaIAeUzHL50",
        ),
    },
    "Reaction Message": {
        "type": "reaction",
        "text": "👍",
        "reaction_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA",
    },
    "Image Message": {
        "type": "image",
        "text": "Taj Mahal",
        "media": Media(
            "image",
            mime_type="image/jpeg",
            caption="Taj Mahal",
            media_id="1003383421387256",
            sha256="SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
        ),
    },
    "Location Message": {
        "type": "location",
        "text": "Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301",
        "location": Location(37.44221496582, -122.16165924072, "Philz Coffee", "101 Forest Ave, Palo Alto, CA 94301"),
    },
    "Contact Sharing Message": {
        "type": "contacts",
        "text": "Contact: Lucía Gómez",
        "contacts": ("Lucía Gómez +1 (983) 555-2319",),
    },
    "Unsupported Message": {
        "type": "unsupported",
        "text": "Message type is currently not supported.",
        "error_code": 131051,
        "error_text": failure_text(131051, "Message type is currently not supported."),  # our sentence, then Meta's detail
    },
    "Button Message": {
        "type": "button",
        "text": "Unsubscribe",
        "reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA",
    },
    "Interactive List Reply Message": {
        "type": "interactive",
        "text": "Priority Mail Express — Next Day to 2 Days",
        "reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJGMzEyNzhENTZDMzNGODlDRDgA",
    },
    "Interactive Button Reply Message": {
        "type": "interactive",
        "text": "Cancel",
        "reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA",
    },
    "Order Message": {"type": "order", "text": "order: 3 items, 85.00 USD (catalog 194836987003835)"},
    "System Message": {
        "type": "system",
        "text": "User Sheena Nelson changed from 16505551234 to 12195555358",
    },
}


def test_every_example_has_an_expectation():
    assert sorted(EXPECTED) == sorted(MESSAGE_EXAMPLES)
    assert len(GROUP_EXAMPLES) == 3
    assert len(EXAMPLES) == 16


@pytest.mark.parametrize("name", MESSAGE_EXAMPLES)
def test_meta_example(name: str):
    payload = EXAMPLES[name]
    raw = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    event = only_message(parse_webhook(payload))
    message = event.message

    assert event.business_number_id == BN
    assert message.id == raw["id"]
    assert message.conversation_id == CID
    assert message.direction is Direction.INBOUND
    assert message.status is MessageStatus.RECEIVED
    assert message.timestamp == datetime.fromtimestamp(int(raw["timestamp"]), timezone.utc)
    for attribute, expected in EXPECTED[name].items():
        assert getattr(message, attribute) == expected, attribute
    if "referral" not in EXPECTED[name]:
        assert message.referral is None
    if name == "System Message":
        # No contacts block: the sender is known by number only.
        assert event.customer == Customer("16505551234", "+16505551234", phone="+16505551234")
    else:
        assert event.customer == SHEENA


@pytest.mark.parametrize("name", GROUP_EXAMPLES)
def test_group_examples_are_skipped(name: str):
    """Groups are not supported yet: a group lifecycle/settings/participants change produces
    nothing and counts as one skipped part (logged), never an error."""
    assert parse_webhook(EXAMPLES[name]) == Parsed(skipped=1)


def test_the_same_bytes_parse_the_same():
    for payload in EXAMPLES.values():
        assert parse_body(orjson.dumps(payload)) == parse_webhook(payload)
        # Meta escapes non-ASCII (§6.2); the decoded text is the same.
        assert parse_body(json.dumps(payload, ensure_ascii=True).encode()) == parse_webhook(payload)


# --- more message shapes ----------------------------------------------------------------------------


def single(message: dict[str, Any], contacts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    base = {"from": "16505551234", "id": "wamid.X", "timestamp": "1750000000"}
    value: dict[str, Any] = {"messages": [{**base, **message}]}
    value["contacts"] = contacts if contacts is not None else [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}]
    return envelope(messages_change(**value))


def test_bsuid_only_user():
    """§11: a customer with a username may come with no wa_id and no `from`."""
    payload = single(
        {"from": None, "from_user_id": "US.13491208655302741918", "type": "text", "text": {"body": "hi"}},
        contacts=[{"profile": {"name": "Lena K.", "username": "lena.k"}, "user_id": "US.13491208655302741918"}],
    )
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    event = only_message(parse_webhook(payload))
    assert event.customer == Customer("US.13491208655302741918", "Lena K.", phone=None, username="lena.k")
    assert event.message.conversation_id == conversation_id(BN, "US.13491208655302741918")
    assert event.message.text == "hi"


def test_bsuid_user_with_a_username_but_no_profile_name():
    payload = single(
        {"from_user_id": "US.1", "type": "text", "text": {"body": "hi"}},
        contacts=[{"profile": {"username": "lena.k"}, "user_id": "US.1"}],
    )
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    assert only_message(parse_webhook(payload)).customer == Customer("US.1", "lena.k", username="lena.k")


def test_wa_id_wins_over_bsuid_and_contacts_match_by_either():
    """The phone number keys the customer when WhatsApp gives one, so a BSUID-only message about a
    contact that carries a wa_id still lands in the phone number's conversation."""
    contacts = [
        {"profile": {"name": "Someone else"}, "wa_id": "19990000000"},
        {"profile": {"name": "Sheena", "username": "sheena"}, "wa_id": "16505551234", "user_id": "US.7"},
    ]
    payload = single({"from_user_id": "US.7", "type": "text", "text": {"body": "hi"}}, contacts=contacts)
    del payload["entry"][0]["changes"][0]["value"]["messages"][0]["from"]
    assert only_message(parse_webhook(payload)).customer == Customer(
        "16505551234", "Sheena", phone="+16505551234", username="sheena"
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ({"type": "audio", "audio": {"id": "9", "mime_type": "audio/ogg; codecs=opus", "voice": True}},
         {"type": "voice", "text": "", "media": Media("voice", mime_type="audio/ogg; codecs=opus", media_id="9")}),
        ({"type": "audio", "audio": {"id": "9", "voice": False}},
         {"type": "audio", "media": Media("audio", media_id="9")}),
        ({"type": "document", "document": {"id": "7", "filename": "invoice.pdf", "mime_type": "application/pdf"}},
         {"type": "document", "text": "invoice.pdf",
          "media": Media("document", mime_type="application/pdf", filename="invoice.pdf", media_id="7")}),
        ({"type": "sticker", "sticker": {"id": "5", "mime_type": "image/webp", "animated": True}},
         {"type": "sticker", "text": "", "media": Media("sticker", mime_type="image/webp", media_id="5")}),
        ({"type": "video", "video": {"id": "4", "caption": "look"}, "context": {"forwarded": True}},
         {"type": "video", "text": "[forwarded] look"}),
        ({"type": "text", "text": {"body": "chain letter"}, "context": {"frequently_forwarded": True}},
         {"text": "[forwarded many times] chain letter"}),
        ({"type": "reaction", "reaction": {"message_id": "wamid.ours", "emoji": ""}},
         {"type": "reaction", "text": "", "reaction_to": "wamid.ours"}),
        ({"type": "reaction", "reaction": {"message_id": "wamid.ours"}},
         {"type": "reaction", "text": "", "reaction_to": "wamid.ours"}),
        ({"type": "location", "location": {"latitude": 12.25089, "longitude": 43.90539}},
         {"text": "12.25089, 43.90539", "location": Location(12.25089, 43.90539)}),
        ({"type": "interactive", "interactive": {"type": "nfm_reply", "nfm_reply": {
            "name": "flow", "body": "Sent", "response_json": "{\"flow_token\": \"x\"}"}}},
         {"type": "interactive", "text": "flow: Sent"}),
        ({"type": "contacts", "contacts": [
            {"name": {"formatted_name": "A B"}, "phones": [{"wa_id": "15550001111"}, {"phone": "+44 20 7946 0000"}]},
            {"name": {"first_name": "C"}}]},
         {"text": "Contact: A B, C", "contacts": ("A B +15550001111, +44 20 7946 0000", "C")}),
        ({"type": "order", "order": {"catalog_id": "1", "text": "asap", "product_items": [
            {"product_retailer_id": "x", "quantity": 1, "item_price": 9.5, "currency": "EUR"}]}},
         {"text": "order: 1 item, 9.50 EUR (catalog 1) — asap"}),
        ({"type": "image", "image": {"id": "3"}, "errors": [{"code": 131052, "title": "Media download error"}]},
         {"type": "image", "error_code": 131052, "error_text": describe(131052)}),
        ({"type": "request_welcome"},
         {"type": "request_welcome", "text": "request_welcome message", "error_code": None}),
        ({"type": "edit", "errors": [{"code": 131051, "title": "Message type unknown"}]},
         {"type": "edit", "text": "Message type unknown", "error_code": 131051}),
        ({"type": "location", "location": {"name": "Home", "latitude": "north"}},
         {"type": "location", "text": "Home", "location": None}),
        ({"type": "unsupported", "errors": [{"code": "131051", "error_data": {"details": "Not supported."}}]},
         {"text": "Not supported.", "error_code": 131051}),
        ({"type": "contacts", "contacts": ["not a card", {"phones": "none"}]},
         {"text": "Contact: Contact", "contacts": ("Contact",)}),
        ({"type": "order", "order": {"product_items": [
            {"quantity": "2", "item_price": 1, "currency": "EUR"}, {"quantity": 1, "item_price": 1, "currency": "USD"}]}},
         {"text": "order: 3 items"}),
        ({"text": {"body": "no type at all"}},
         {"type": "unsupported", "text": "unsupported message"}),
        ({"type": "text", "text": {"body": "hi"}, "referral": {"source_type": "ad", "body": "Summer sale"}},
         {"text": "[from ad: Summer sale] hi"}),
    ],
)
def test_message_shapes(message: dict[str, Any], expected: dict[str, Any]):
    parsed = only_message(parse_webhook(single(message))).message
    for attribute, value in expected.items():
        assert getattr(parsed, attribute) == value, attribute


@pytest.mark.parametrize(
    "broken",
    [
        {"id": None},
        {"id": ""},
        {"from": None},
        {"timestamp": None},
        {"timestamp": "soon"},
        {"timestamp": "1750000000.5"},
        {"timestamp": True},
    ],
)
def test_a_message_without_id_sender_or_timestamp_is_skipped(broken: dict[str, Any]):
    good = {"from": "16505551234", "id": "wamid.good", "timestamp": "1750000000", "type": "text", "text": {"body": "ok"}}
    bad = {**good, "id": "wamid.bad", **broken}
    bad = {k: v for k, v in bad.items() if v is not None}
    parsed = parse_webhook(envelope(messages_change(messages=[bad, good])))
    assert parsed.skipped == 1
    assert [e.message.id for e in parsed.events] == ["wamid.good"]  # type: ignore[union-attr]


def test_group_messages_and_group_statuses_are_skipped():
    payload = envelope(
        messages_change(
            messages=[{"from": "16505551234", "id": "wamid.g", "timestamp": "1750000000", "type": "text",
                       "text": {"body": "hi all"}, "group_id": "Y2FwaV9ncm91cDo"}],
            statuses=[{"id": "wamid.s", "status": "delivered", "timestamp": "1750000000",
                       "recipient_id": "Y2FwaV9ncm91cDo", "recipient_type": "group",
                       "recipient_participant_id": "16505551234"}],
        )
    )
    assert parse_webhook(payload) == Parsed(skipped=2)


def test_a_change_without_phone_number_id_is_skipped_but_its_errors_are_kept():
    change = messages_change(
        messages=[{"from": "1", "id": "wamid.a", "timestamp": "1750000000", "type": "text", "text": {"body": "x"}}],
        statuses=[{"id": "wamid.b", "status": "sent", "timestamp": "1750000000", "recipient_id": "1"}],
        errors=[{"code": 131000, "title": "Something went wrong"}],
    )
    del change["value"]["metadata"]["phone_number_id"]
    parsed = parse_webhook(envelope(change))
    assert parsed.events == []
    assert parsed.skipped == 1
    assert parsed.problems == [Problem(131000, describe(131000), "Something went wrong", None)]


# --- statuses (Meta's three examples on the status webhook reference, §6.5) -------------------------

WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA"
STATUS_SENT_V23 = {
    "id": WAMID,
    "status": "sent",
    "timestamp": "1750030073",
    "recipient_id": "16505551234",
    "conversation": {"id": "0b7e34e2c7e1c1e5b1d6b4a8e1a5c3f2", "expiration_timestamp": "1750116480",
                     "origin": {"type": "marketing"}},
    "pricing": {"billable": True, "pricing_model": "PMP", "type": "regular", "category": "marketing"},
}
STATUS_READ_V24 = {"id": WAMID, "status": "read", "timestamp": "1750030100", "recipient_id": "16505551234"}
STATUS_FAILED = {
    "id": WAMID,
    "status": "failed",
    "timestamp": "1750030073",
    "recipient_id": "16505551234",
    "errors": [{
        "code": 131049,
        "title": "This message was not delivered to maintain healthy ecosystem engagement.",
        "message": "This message was not delivered to maintain healthy ecosystem engagement.",
        "error_data": {"details": "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }],
}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (STATUS_SENT_V23, StatusChanged(BN, "16505551234", WAMID, MessageStatus.SENT, utc("1750030073"),
                                        pricing=Pricing(True, "marketing", "PMP", "regular"))),
        (STATUS_READ_V24, StatusChanged(BN, "16505551234", WAMID, MessageStatus.READ, utc("1750030100"))),
        (STATUS_FAILED, StatusChanged(BN, "16505551234", WAMID, MessageStatus.FAILED, utc("1750030073"),
                                      131049, failure_text(131049, STATUS_FAILED["errors"][0]["error_data"]["details"]))),
    ],
    ids=["sent-v23", "read-v24", "failed-131049"],
)
def test_status_webhooks(status: dict[str, Any], expected: StatusChanged):
    parsed = parse_webhook(envelope(messages_change(statuses=[status])))
    assert parsed == Parsed(events=[expected])
    if expected.error_code is not None:
        # Our sentence, then WhatsApp's own detail beside it.
        assert parsed.events[0].error_text == (  # type: ignore[union-attr]
            f"{describe(131049)} WhatsApp: In order to maintain a healthy ecosystem engagement,"
            " the message failed to be delivered."
        )


@pytest.mark.parametrize(
    ("pricing", "expected"),
    [
        # §6.5 and §7: utility inside the window, a free entry point, Meta's OAS schema (no type).
        ({"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "utility"},
         Pricing(False, "utility", "PMP", "free_customer_service")),
        ({"pricing_model": "PMP", "type": "free_entry_point", "category": "referral_conversion"},
         Pricing(None, "referral_conversion", "PMP", "free_entry_point")),
        ({"billable": True, "pricing_model": "CBP", "category": "authentication-international"},
         Pricing(True, "authentication-international", "CBP", "")),
        ({"billable": "yes", "pricing_model": 7, "type": ["regular"], "category": "Marketing"},
         Pricing(None, "marketing", "", "")),  # wrong kinds read as absent
        ({"category": "x" * 1000, "type": "regular\x1b[2J"}, None),  # nothing a word of WhatsApp's
        ({}, None),
        ("regular", None),
    ],
)
def test_status_pricing(pricing: Any, expected: Pricing | None):
    status = {**STATUS_READ_V24, "status": "sent", "pricing": pricing}
    (event,) = parse_webhook(envelope(messages_change(statuses=[status]))).events
    assert isinstance(event, StatusChanged) and event.pricing == expected


def test_pricing_says_whether_it_is_billed():
    assert Pricing(True, "marketing", "PMP", "regular").billed is True
    assert Pricing(True, "utility", "PMP", "free_customer_service").billed is False  # type wins
    assert Pricing(None, "marketing", "PMP", "free_entry_point").billed is False
    assert Pricing(False, "service", "CBP", "").billed is False
    assert Pricing(None, "service", "", "").billed is None


@pytest.mark.parametrize(
    ("referral", "expected"),
    [
        ({"source_type": "post", "source_id": 1234, "source_url": "https://fb.me/x", "headline": ""},
         Referral(source_url="https://fb.me/x", source_type="post", source_id="1234")),
        ({"headline": "[@click=app.quit]Sale[/] \x1b[31m", "body": {"text": "no"}, "media_type": None},
         Referral(headline="[@click=app.quit]Sale[/] \x1b[31m")),  # kept as data; the UI neutralises it
        ({}, Referral()),
        ("an ad", None),
    ],
)
def test_referral_shapes(referral: Any, expected: Referral | None):
    message = {"type": "text", "text": {"body": "hi"}, "referral": referral}
    assert only_message(parse_webhook(single(message))).message.referral == expected


def test_status_shapes():
    statuses = [
        {"id": "wamid.1", "status": "played", "timestamp": "1750000001", "recipient_id": "16505551234"},
        {"id": "wamid.2", "status": "delivered", "timestamp": "1750000002", "recipient_user_id": "US.7"},
        {"id": "wamid.3", "status": "deleted", "timestamp": "1750000003", "recipient_id": "1"},  # unknown
        {"id": "wamid.4", "status": "failed", "timestamp": "1750000004", "recipient_id": "1"},  # no errors
        {"id": "wamid.5", "status": "sent", "timestamp": "1750000005"},  # no recipient
        {"id": "wamid.6", "status": "read", "timestamp": "1750000006", "recipient_id": "1",
         "errors": [{"code": 131049}]},  # errors only count on failed
    ]
    parsed = parse_webhook(envelope(messages_change(statuses=statuses)))
    assert parsed.skipped == 2
    assert parsed.events == [
        StatusChanged(BN, "16505551234", "wamid.1", MessageStatus.PLAYED, utc(1750000001)),
        StatusChanged(BN, "US.7", "wamid.2", MessageStatus.DELIVERED, utc(1750000002)),
        StatusChanged(BN, "1", "wamid.4", MessageStatus.FAILED, utc(1750000004)),
        StatusChanged(BN, "1", "wamid.6", MessageStatus.READ, utc(1750000006)),
    ]


# --- several parts per body -------------------------------------------------------------------------


def test_every_entry_change_message_and_status_in_order():
    def text(wamid: str, ts: int, who: str = "16505551234") -> dict[str, Any]:
        return {"from": who, "id": wamid, "timestamp": str(ts), "type": "text", "text": {"body": wamid}}

    other = "200000000000001"
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "1", "changes": [
                messages_change(
                    contacts=[{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"},
                              {"profile": {"name": "Bob"}, "wa_id": "15550002222"}],
                    messages=[text("m1", 1750000001), text("m2", 1750000002, "15550002222")],
                ),
                messages_change(statuses=[
                    {"id": "s1", "status": "delivered", "timestamp": "1750000003", "recipient_id": "15550002222"},
                    {"id": "s2", "status": "read", "timestamp": "1750000004", "recipient_id": "15550002222"},
                ]),
            ]},
            {"id": "2", "changes": [
                messages_change(other, messages=[text("m3", 1750000005)]),
                messages_change(other, statuses=[
                    {"id": "s3", "status": "sent", "timestamp": "1750000006", "recipient_id": "16505551234"}]),
            ]},
        ],
    }
    parsed = parse_webhook(payload)
    assert parsed.skipped == 0
    keys = [
        (e.business_number_id, e.message.id, e.customer.name) if isinstance(e, MessageReceived)
        else (e.business_number_id, e.wamid, e.status.value)
        for e in parsed.events
    ]
    assert keys == [
        (BN, "m1", "Sheena Nelson"),
        (BN, "m2", "Bob"),
        (BN, "s1", "delivered"),
        (BN, "s2", "read"),
        (other, "m3", "+16505551234"),  # that change has no contacts block
        (other, "s3", "sent"),
    ]
    assert parsed.events[4].message.conversation_id == conversation_id(other, "16505551234")  # type: ignore[union-attr]


def test_a_broken_part_does_not_hide_the_rest():
    good = {"from": "16505551234", "id": "wamid.ok", "timestamp": "1750000000", "type": "text", "text": {"body": "ok"}}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            "not an entry",
            {"changes": "not a list"},
            {"changes": [None, {"field": "messages"}, messages_change(messages=["x", 3, good])]},
        ],
    }
    parsed = parse_webhook(payload)
    assert [e.message.id for e in parsed.events] == ["wamid.ok"]  # type: ignore[union-attr]
    assert parsed.skipped == 6


# --- templates, account, errors ---------------------------------------------------------------------


def test_template_status_update():
    """Meta's example spells the language en-US; the list API (and a send) use en_US (§4.2)."""
    payload = envelope(
        {"field": "message_template_status_update", "value": {
            "event": "APPROVED", "message_template_id": 594425479261596,
            "message_template_name": "order_confirmation", "message_template_language": "en-US", "reason": "NONE"}},
        {"field": "message_template_status_update", "value": {
            "event": "REJECTED", "message_template_id": "12", "message_template_name": "promo",
            "message_template_language": "pt_BR", "reason": "INCORRECT_CATEGORY"}},
        {"field": "message_template_status_update", "value": {
            "event": "PAUSED", "message_template_id": "13", "message_template_name": "nudge",
            "message_template_language": "en", "reason": None,
            "other_info": {"title": "FIRST_PAUSE", "description": "Paused for 3 hours: low quality."}}},
        entry_time=1674864290,
    )
    at = datetime(2023, 1, 28, 0, 4, 50, tzinfo=timezone.utc)
    assert parse_webhook(payload) == Parsed(template_updates=[
        TemplateUpdate("594425479261596", "order_confirmation", "en_US", "APPROVED", None, at),
        TemplateUpdate("12", "promo", "pt_BR", "REJECTED", "INCORRECT_CATEGORY", at),
        TemplateUpdate("13", "nudge", "en", "PAUSED", "Paused for 3 hours: low quality.", at),
    ])


def test_value_errors_become_problems():
    payload = envelope(messages_change(errors=[{
        "code": 130429,
        "title": "Rate limit hit",
        "message": "(#130429) Rate limit hit",
        "error_data": {"details": "Cloud API message throughput has been reached."},
        "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
    }, {"title": "no code"}]))
    assert parse_webhook(payload) == Parsed(
        problems=[Problem(130429, describe(130429), "Cloud API message throughput has been reached.", BN)],
        skipped=1,
    )


def test_account_restriction_is_a_problem_and_other_account_news_is_ignored():
    payload = envelope(
        {"field": "account_update", "value": {"event": "ACCOUNT_RESTRICTION", "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1641330498}]}},
        {"field": "account_update", "value": {"event": "PARTNER_ADDED", "waba_info": {"waba_id": "9"}}},
        {"field": "account_update", "value": {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE"}}},
        {"field": "message_template_quality_update", "value": {"new_quality_score": "RED"}},
        entry_time=1641330498,
    )
    assert parse_webhook(payload) == Parsed(
        problems=[Problem(368, describe(368), "ACCOUNT_RESTRICTION: RESTRICTED_BIZ_INITIATED_MESSAGING", None)],
        skipped=3,
    )


def test_account_violation_and_ban_are_problems_and_a_broken_template_update_is_skipped():
    payload = envelope(
        {"field": "account_update", "value": {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}}},
        {"field": "account_update", "value": {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE"}}},
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}},
    )
    assert parse_webhook(payload) == Parsed(
        problems=[
            Problem(368, describe(368), "ACCOUNT_VIOLATION: SCAM", None),
            Problem(368, describe(368), "DISABLED_UPDATE: DISABLE", None),
        ],
        skipped=1,
    )


@pytest.mark.parametrize("timestamp", ["0", "-5", "99999999999999", 1.5e9, None, [], "１７５"])
def test_timestamps_that_are_not_epoch_seconds(timestamp: Any):
    message = {"from": "1", "id": "wamid.t", "timestamp": timestamp, "type": "text", "text": {"body": "x"}}
    assert parse_webhook(envelope(messages_change(messages=[message]))) == Parsed(skipped=1)


@pytest.mark.parametrize(
    "body", [b"", b"{", b"not json", b"[1, 2", b"\xff\xfe", b"null", b"[]", b"42", b'"x"', b"{}", b'{"object": "page"}']
)
def test_bodies_that_are_not_webhooks(body: bytes):
    assert parse_body(body) == Parsed(skipped=1)


# --- into the real store ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", MESSAGE_EXAMPLES)
def test_parsed_examples_go_into_the_store_unchanged(name: str, tmp_path: Path):
    (event,) = parse_webhook(EXAMPLES[name]).events
    assert isinstance(event, MessageReceived)
    cid = event.message.conversation_id
    store = TinyStore(tmp_path / "data")
    store.open()
    try:
        assert store.apply(event) == cid
        assert store.apply(event) is None  # Meta's duplicate delivery (§6.7) changes nothing
        assert store.messages(cid) == [event.message]
        conversation = store.conversation(cid)
        assert conversation is not None and conversation.customer == event.customer
    finally:
        store.close()
    store = TinyStore(tmp_path / "data")
    store.open()
    try:
        assert store.messages(cid) == [event.message]
    finally:
        store.close()


def test_one_body_of_every_example_goes_into_one_store(tmp_path: Path):
    """All examples at once, as a burst: same-id examples (Meta reuses one wamid) keep the first."""
    events = [e for name in MESSAGE_EXAMPLES for e in parse_webhook(EXAMPLES[name]).events]
    first: dict[str, Any] = {}
    for e in events:
        first.setdefault(e.message.id, e.message)  # type: ignore[union-attr]
    with TinyStore(tmp_path / "data") as store:
        store.apply_many(events)
        stored = store.messages(CID)
    assert sorted(stored, key=lambda m: m.id) == sorted(first.values(), key=lambda m: m.id)


# --- properties -------------------------------------------------------------------------------------


def _keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


KNOWN_KEYS = sorted(
    set(_keys(list(EXAMPLES.values())))
    | set(_keys([STATUS_SENT_V23, STATUS_FAILED]))
    | {"statuses", "errors", "from_user_id", "user_id", "recipient_user_id", "voice", "group_id", "event",
       "message_template_name", "message_template_language", "time", "recipient_type", "forwarded"}
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=12)
    | st.sampled_from(["1750000000", "text", "image", "audio", "failed", "read", "messages", BN, "16505551234"])
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


def check_parsed(parsed: Parsed) -> None:
    """Nothing half-made: every event is complete and well-typed."""
    assert isinstance(parsed, Parsed)
    assert isinstance(parsed.skipped, int) and parsed.skipped >= 0
    for event in parsed.events:
        assert isinstance(event.business_number_id, str) and event.business_number_id.strip()
        if isinstance(event, MessageReceived):
            message, customer = event.message, event.customer
            assert isinstance(message.id, str) and message.id.strip()
            assert isinstance(customer.id, str) and customer.id.strip()
            assert isinstance(customer.name, str) and customer.name
            assert isinstance(message.timestamp, datetime) and message.timestamp.tzinfo is not None
            assert message.conversation_id == conversation_id(event.business_number_id, customer.id)
            assert isinstance(message.type, str) and message.type
            assert isinstance(message.text, str)
            assert message.error_code is None or (isinstance(message.error_code, int) and message.error_text)
            if message.location is not None:
                assert math.isfinite(message.location.latitude) and math.isfinite(message.location.longitude)
            if message.media is not None:
                for name in ("mime_type", "caption", "filename", "media_id", "sha256"):
                    assert getattr(message.media, name) is None or isinstance(getattr(message.media, name), str)
            assert all(isinstance(c, str) for c in message.contacts)
            for optional in (message.reply_to, message.reaction_to):
                assert optional is None or isinstance(optional, str)
        else:
            assert isinstance(event, StatusChanged)
            assert isinstance(event.wamid, str) and event.wamid.strip()
            assert isinstance(event.customer_id, str) and event.customer_id.strip()
            assert isinstance(event.status, MessageStatus)
            assert isinstance(event.timestamp, datetime)
    for update in parsed.template_updates:
        assert isinstance(update.name, str) and isinstance(update.status, str)
    for problem in parsed.problems:
        assert isinstance(problem.code, int) and problem.sentence == describe(problem.code)


TYPES = ["text", "image", "video", "audio", "document", "sticker", "location", "contacts", "interactive",
         "button", "reaction", "order", "system", "unsupported", "something_new"]
MESSAGE_LIKE = st.fixed_dictionaries(
    {"from": st.sampled_from(["16505551234", "15550002222"]), "id": st.text(min_size=1, max_size=8),
     "timestamp": st.sampled_from(["1750000000", "1750000001"]), "type": st.sampled_from(TYPES)},
    optional={**{kind: JSON for kind in TYPES}, "context": JSON, "referral": JSON, "errors": JSON,
              "from_user_id": JSON, "group_id": st.none()},
)
"""Messages that pass the id/sender/timestamp gate, so garbage reaches every type's builder."""
STATUS_LIKE = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=8), "timestamp": st.just("1750000000"),
     "status": st.sampled_from(["sent", "delivered", "read", "played", "failed", "other"])},
    optional={"recipient_id": JSON, "recipient_user_id": JSON, "errors": JSON, "conversation": JSON,
              "pricing": JSON},
)


@PROPERTY
@given(
    st.one_of(
        JSON,
        JSON.map(lambda v: envelope(messages_change(**v) if isinstance(v, dict) else {"field": "messages", "value": v})),
        st.lists(MESSAGE_LIKE | JSON, max_size=4).map(lambda ms: envelope(messages_change(messages=ms))),
        st.lists(STATUS_LIKE | JSON, max_size=4).map(lambda ss: envelope(messages_change(statuses=ss))),
        st.tuples(st.lists(MESSAGE_LIKE, max_size=2), JSON).map(
            lambda mc: envelope(messages_change(messages=mc[0], contacts=mc[1]))
        ),
    )
)
def test_random_json_never_raises(payload: Any):
    check_parsed(parse_webhook(payload))


SERIALISED = {name: orjson.dumps(payload) for name, payload in EXAMPLES.items()}


@PROPERTY
@given(st.sampled_from(sorted(SERIALISED)), st.data())
def test_truncated_bodies_never_raise(name: str, data: st.DataObject):
    body = SERIALISED[name]
    cut = data.draw(st.integers(0, len(body)))
    parsed = parse_body(body[:cut])
    check_parsed(parsed)
    # A strict prefix of a JSON object is never valid JSON.
    assert parsed == (parse_webhook(EXAMPLES[name]) if cut == len(body) else Parsed(skipped=1))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


MESSAGE_PATH = ("entry", 0, "changes", 0, "value", "messages", 0)
STATUS_PATH = ("entry", 0, "changes", 0, "value", "statuses", 0)


def _mutate(tree: Any, data: st.DataObject, within: tuple[Any, ...] = ()) -> Any:
    """Drop a key (or a list item) or replace a value with a random JSON value, a few times, at
    paths under `within` (most of the parser's work is inside one message)."""
    for _ in range(data.draw(st.integers(1, 4))):
        paths = [p for p in _paths(tree) if p[: len(within)] == within] or list(_paths(tree))
        path = data.draw(st.sampled_from(paths))
        if not path:
            tree = data.draw(JSON)
            continue
        parent = tree
        for step in path[:-1]:
            parent = parent[step]
        if data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(JSON)
    return tree


@PROPERTY
@given(st.sampled_from(sorted(EXAMPLES)), st.data())
def test_mutated_examples_never_raise_or_half_make_a_message(name: str, data: st.DataObject):
    within = data.draw(st.sampled_from([(), MESSAGE_PATH, MESSAGE_PATH]))
    tree = _mutate(copy.deepcopy(EXAMPLES[name]), data, within)
    check_parsed(parse_webhook(tree))


@PROPERTY
@given(st.sampled_from([STATUS_SENT_V23, STATUS_READ_V24, STATUS_FAILED]), st.data())
def test_mutated_statuses_never_raise(status: dict[str, Any], data: st.DataObject):
    within = data.draw(st.sampled_from([(), STATUS_PATH, STATUS_PATH]))
    tree = _mutate(copy.deepcopy(envelope(messages_change(statuses=[status]))), data, within)
    check_parsed(parse_webhook(tree))


def test_echoes_of_our_messages_come_back_as_ours_already_sent():
    """`smb_message_echoes` (messages the business sent elsewhere, or before the desk was there)."""
    from datetime import datetime, timezone

    from desk.models import Customer, Direction, Message, MessageReceived, MessageStatus
    from emulator.encode import webhook_for

    customer = Customer("16505551234", "Sheena Nelson", "+16505551234")
    at = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
    ours = Message("wamid.OURS1", "106540352242922~16505551234", Direction.OUTBOUND, "text", at,
                   MessageStatus.READ, text="Your order shipped.", wamid="wamid.OURS1")
    payload = webhook_for([MessageReceived("106540352242922", customer, ours)], waba_id="1",
                          display_numbers={"106540352242922": "+1 555-0100"})
    [event] = parse_webhook(payload).events
    message = event.message
    assert event.customer.id == customer.id and event.business_number_id == "106540352242922"
    assert message.direction is Direction.OUTBOUND and message.status is MessageStatus.SENT
    assert message.wamid == "wamid.OURS1" and message.text == "Your order shipped." and message.timestamp == at


# --- bodies the fast parser refuses -------------------------------------------------------------------


def test_a_lone_surrogate_escape_is_neutralised_and_its_neighbours_kept(tmp_path: Path):
    """orjson refuses `\\ud800`; the standard library reads it into a str the store cannot write."""
    good = {"from": "15550002222", "id": "wamid.GOOD", "timestamp": "1750000000", "type": "text",
            "text": {"body": "a clean neighbour"}}
    bad = {"from": "16505551234", "id": "wamid.BAD", "timestamp": "1750000001", "type": "text",
           "text": {"body": "broken SURROGATE here"}}
    contacts = [{"profile": {"name": "Dora SURROGATE"}, "wa_id": "16505551234"},
                {"profile": {"name": "Eve"}, "wa_id": "15550002222"}]
    body = json.dumps(envelope(messages_change(messages=[good, bad], contacts=contacts))).encode()
    body = body.replace(b"SURROGATE", b"\\ud800")
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(body)
    parsed = parse_body(body)
    assert parsed.skipped == 0
    good_event, bad_event = parsed.events
    assert good_event.message.text == "a clean neighbour"
    assert bad_event.message.text == "broken \ufffd here" and bad_event.customer.name == "Dora \ufffd"
    with TinyStore(tmp_path / "data") as store:  # what was neutralised can be written
        store.apply_many(parsed.events)
        assert store.messages(bad_event.message.conversation_id)[0].text == "broken \ufffd here"


def test_invalid_utf8_in_one_string_keeps_the_rest():
    body = json.dumps(single({"type": "text", "text": {"body": "XX"}})).encode().replace(b"XX", b"ok \xff\xfe")
    assert only_message(parse_body(body)).message.text == "ok \ufffd\ufffd"


# --- timestamps far in the future -----------------------------------------------------------------------

PARSE_NOW = utc(1750000000)
YEAR_3000 = int(datetime(3000, 1, 1, tzinfo=timezone.utc).timestamp())


def test_a_message_dated_year_3000_is_taken_as_received_now_and_flagged(caplog):
    from desk.window import window

    event = only_message(parse_webhook(single({"type": "text", "text": {"body": "hi"}, "timestamp": str(YEAR_3000)}),
                                       PARSE_NOW))
    assert event.message.timestamp == PARSE_NOW
    assert event.message.text == "[dated 3000-01-01 00:00 UTC by a clock ahead; shown as received] hi"
    assert "wamid.X is dated 3000-01-01" in caplog.text and "hi" not in caplog.text.split("wamid.X")[1]
    # The window closes 24 hours after it arrived, not in the year 3000.
    assert not window(event.message.timestamp, PARSE_NOW + timedelta(hours=25)).open


def test_statuses_and_template_updates_dated_far_ahead_are_taken_as_now():
    status = {**STATUS_READ_V24, "timestamp": str(YEAR_3000)}
    (changed,) = parse_webhook(envelope(messages_change(statuses=[status])), PARSE_NOW).events
    assert changed.timestamp == PARSE_NOW
    update = {"field": "message_template_status_update",
              "value": {"event": "APPROVED", "message_template_name": "t", "message_template_language": "en_US"}}
    (template,) = parse_webhook(envelope(update, entry_time=YEAR_3000), PARSE_NOW).template_updates
    assert template.at == PARSE_NOW


@PROPERTY
@given(
    st.integers(min_value=1, max_value=10**11 - 1),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)),
)
def test_no_parsed_time_is_more_than_a_day_ahead(timestamp: int, now: datetime):
    body = envelope(messages_change(
        messages=[{"from": "16505551234", "id": "wamid.P", "timestamp": str(timestamp), "type": "text",
                   "text": {"body": "t"}}],
        statuses=[{**STATUS_READ_V24, "timestamp": str(timestamp)}],
    ), entry_time=timestamp)
    parsed = parse_webhook(body, now)
    claimed = utc(timestamp)
    ahead = claimed > now + webhook.FUTURE_LIMIT
    message, status = parsed.events
    for event in (message.message, status):
        assert event.timestamp == (now if ahead else claimed)
    assert message.message.text.startswith("[dated ") is ahead
