"""What the CLI prints, as a rule table (cli/render.py): states in words, a line per conversation and
per message, hostile customer text neutralised in text and escaped in JSON, and the honest outcome
of a send. The commands end to end, against a hub and a data directory, are tests/test_cli_*.py."""

from __future__ import annotations

import json
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from cli import render
from cli.render import View
from desk.config import SlaConfig
from desk.models import Conversation, ConversationStatus, Customer, Direction, Media, Message, MessageStatus
from desk.sla import SlaPolicy
from tests.conftest import NOW
from tests.test_hostile_walk import FORBIDDEN, NAME, TEXT

VIEW = View(ZoneInfo("UTC"), NOW, "ana", lambda number: SlaPolicy.from_config(SlaConfig()))
DORA = Customer("15550101", "Dora Díaz", "+12025550101")


def conv(**fields: object) -> Conversation:
    return Conversation(**{"id": "pn1~15550101", "business_number_id": "pn1", "customer": DORA, **fields})  # type: ignore[arg-type]


def message(**fields: object) -> Message:
    base = {"id": "m1", "conversation_id": "pn1~15550101", "direction": Direction.INBOUND, "type": "text",
            "timestamp": NOW - timedelta(minutes=5), "status": MessageStatus.RECEIVED, "text": "Hello"}
    return Message(**{**base, **fields})  # type: ignore[arg-type]


AGO = NOW - timedelta(hours=2, minutes=5)


@pytest.mark.parametrize(
    ("conversation", "fields"),
    [
        (conv(waiting_since=AGO, last_inbound_at=AGO, opened_at=AGO),
         ["waiting", "waited 2h05m", "first response breached 1h05m", "unassigned"]),
        (conv(waiting_since=NOW - timedelta(minutes=10), first_reply_at=AGO, assignee="ana"),
         ["waiting", "waited 10m", "next response ok 50m", "mine"]),
        (conv(status=ConversationStatus.PENDING, assignee="bob"), ["pending", "not waiting", "no SLA running", "owner bob"]),
        (conv(status=ConversationStatus.SNOOZED, snoozed_until=NOW + timedelta(hours=3)),
         ["snoozed until 15:00", "not waiting", "no SLA running", "unassigned"]),
        (conv(status=ConversationStatus.SNOOZED), ["snoozed until they write", "not waiting", "no SLA running", "unassigned"]),
        (conv(status=ConversationStatus.SNOOZED, snoozed_until=NOW - timedelta(minutes=1)),
         ["open", "not waiting", "no SLA running", "unassigned"]),
        (conv(status=ConversationStatus.RESOLVED, waiting_since=AGO), ["resolved", "waited 2h05m", "no SLA running", "unassigned"]),
    ],
)
def test_a_conversation_is_one_line_of_words(conversation: Conversation, fields: list[str]) -> None:
    line = render.list_line(conversation, VIEW)
    assert line.split("\t") == ["pn1~15550101", "Dora Díaz, +1 202-555-0101", *fields]


@pytest.mark.parametrize(
    ("msg", "words"),
    [
        (message(), "in\treceived\tHello"),
        (message(direction=Direction.OUTBOUND, status=MessageStatus.SENT, agent="ana", text="Hi"), "out by ana\tsent\tHi"),
        (message(direction=Direction.OUTBOUND, status=MessageStatus.FAILED, error_code=131047, error_text="The window closed."),
         "out\tfailed 131047: The window closed.\tHello"),
        (message(direction=Direction.OUTBOUND, status=MessageStatus.UNKNOWN), "out\tunknown: may have reached the customer\tHello"),
        (message(type="note", status=MessageStatus.NOTE, agent="bob", text="Asked\nthe warehouse."),
         "note by bob\tnote\tAsked the warehouse."),
        (message(type="document", text="the invoice", media=Media("document", filename="inv.pdf")),
         "in\treceived\t[document] inv.pdf: the invoice"),
        (message(type="location", text=""), "in\treceived\t[location]"),
        (message(direction=Direction.OUTBOUND, type="template", status=MessageStatus.DELIVERED, template="order (en)",
                 text="Ships today."), "out\tdelivered\t[template order (en)] Ships today."),
    ],
)
def test_a_message_is_one_line_time_direction_status_text(msg: Message, words: str) -> None:
    assert render.message_line(msg, VIEW) == "11:55\t" + words


def test_hostile_customer_text_reaches_no_terminal_in_text() -> None:
    hostile = conv(customer=Customer("1", NAME, "+12025550101"), assignee="\x1b]0;x\x07bob", labels=("\u202eevil",))
    lines = [render.list_line(hostile, VIEW), *render.header_lines(hostile, VIEW),
             render.message_line(message(text=TEXT), VIEW)]
    for line in lines:
        assert not FORBIDDEN.findall(line), line
        assert "\n" not in line
    assert "<U+202E>evil" in lines[0] and "␛" in lines[0]


def test_json_keeps_the_exact_text_and_shows_no_control_to_a_terminal() -> None:
    hostile = conv(customer=Customer("1", NAME, "+12025550101"))
    printed = render.dumps({"conversation": render.conversation_json(hostile, VIEW), "message": render.message_json(message(text=TEXT))})
    assert not FORBIDDEN.findall(printed)
    assert "Dora" in printed and "\\u202e" in printed  # UTF-8 as written; only the controls escaped
    back = json.loads(printed)
    assert back["conversation"]["customer"]["name"] == NAME
    assert back["message"]["text"] == TEXT


def test_the_json_of_a_conversation_has_its_stable_keys() -> None:
    doc = render.conversation_json(conv(waiting_since=AGO, last_inbound_at=AGO), VIEW)
    assert list(doc) == ["id", "business_number_id", "customer", "status", "snoozed_until", "waiting_since",
                         "waited_seconds", "sla", "window_open", "assignee", "priority", "labels", "unread",
                         "last_message_at", "preview"]
    assert doc["waiting_since"] == "2026-11-23T09:55:00Z" and doc["waited_seconds"] == 7500
    assert doc["sla"] == {"clock": "first response", "state": "breached", "due_at": "2026-11-23T10:55:00Z"}
    assert list(render.message_json(message())) == ["id", "time", "direction", "type", "status", "text", "agent", "wamid",
                                                   "error_code", "error_text", "template", "filename"]


@pytest.mark.parametrize(
    ("msg", "word", "done", "says"),
    [
        (message(status=MessageStatus.SENT, wamid="wamid.OK"), "sent", True, "Sent: WhatsApp accepted it as wamid.OK."),
        (message(status=MessageStatus.READ, wamid="wamid.OK"), "sent", True, "wamid.OK"),
        (message(status=MessageStatus.FAILED, error_code=131047, error_text="More than 24 hours have passed."), "failed", False,
         "Not sent (131047): More than 24 hours have passed."),
        (message(status=MessageStatus.UNKNOWN, error_text="No answer from WhatsApp."), "unknown", False,
         "it was not sent again"),
        (message(status=MessageStatus.QUEUED), "queued", False, "Still queued after 30 s"),
        (message(status=MessageStatus.SENDING), "queued", False, "Still sending after 30 s"),
    ],
)
def test_a_sends_outcome_is_told_honestly(msg: Message, word: str, done: bool, says: str) -> None:
    told = render.outcome(msg, 30)
    assert (told.word, told.done) == (word, done)
    assert says in told.sentence
