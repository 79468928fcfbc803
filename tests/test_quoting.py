"""What a reply may quote and a reaction may go to (desk.quoting), rule by rule."""

from __future__ import annotations

from datetime import timedelta

import pytest

from desk.models import Direction, Message, MessageStatus
from desk.quoting import my_reaction, reaction_refusal, reply_refusal, whatsapp_id
from tests.conftest import NOW


def message(direction: Direction = Direction.INBOUND, kind: str = "text", *, age: timedelta = timedelta(hours=1),
            wamid: str | None = None, status: MessageStatus = MessageStatus.RECEIVED, **fields) -> Message:
    return Message(id=fields.pop("id", "wamid.THEIRS" if direction is Direction.INBOUND else "local.1"),
                   conversation_id="n~c", direction=direction, type=kind, timestamp=NOW - age, status=status,
                   wamid=wamid, **fields)


OURS_SENT = message(Direction.OUTBOUND, wamid="wamid.OURS", status=MessageStatus.SENT)


@pytest.mark.parametrize(
    ("quoted", "refused"),
    [
        (message(), ""),
        (OURS_SENT, ""),
        (message(Direction.OUTBOUND, status=MessageStatus.FAILED), "has not reached WhatsApp"),
        (message(Direction.OUTBOUND, "note", status=MessageStatus.NOTE), "note"),
        (message(kind="system"), "system"),
        (message(kind="reaction", text="👍"), "A reaction cannot be quoted"),
        (message(kind="image", age=timedelta(days=90)), ""),  # a reply may quote an old message
    ],
)
def test_what_a_reply_may_quote(quoted, refused):
    said = reply_refusal(quoted)
    assert (said == "") if not refused else (refused in said)


@pytest.mark.parametrize(
    ("target", "refused"),
    [
        (message(), ""),
        (message(kind="image"), ""),
        (message(age=timedelta(days=30)), ""),
        (message(age=timedelta(days=30, seconds=1)), "more than 30 days old"),
        (OURS_SENT, "Only a customer's message"),
        (message(kind="reaction", text="👍"), "reaction message cannot"),
        (message(kind="system"), "system message cannot"),
    ],
)
def test_what_a_reaction_may_go_to(target, refused):
    said = reaction_refusal(target, NOW)
    assert (said == "") if not refused else (refused in said)


def test_the_id_whatsapp_knows_a_message_by():
    assert whatsapp_id(message()) == "wamid.THEIRS"
    assert whatsapp_id(OURS_SENT) == "wamid.OURS"
    assert whatsapp_id(message(Direction.OUTBOUND, status=MessageStatus.QUEUED)) is None


def test_my_reaction_is_the_latest_of_mine_that_did_not_fail():
    target = message()

    def mine(emoji: str, status: MessageStatus, n: int) -> Message:
        return message(Direction.OUTBOUND, "reaction", id=f"local.{n}", text=emoji, status=status, reaction_to=target.id)

    assert my_reaction([target], target) == ""
    assert my_reaction([target, mine("👍", MessageStatus.SENT, 1)], target) == "👍"
    assert my_reaction([target, mine("👍", MessageStatus.SENT, 1), mine("❤️", MessageStatus.FAILED, 2)], target) == "👍"
    assert my_reaction([target, mine("👍", MessageStatus.SENT, 1), mine("", MessageStatus.SENT, 2)], target) == ""
