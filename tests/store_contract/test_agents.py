"""Every write names the agent who acted (`agent=`), and its changes carry the name."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from desk.models import ConversationStatus, MessageStatus
from desk.store.contract import Store
from tests.store_contract.builders import at, cid, conversation_status, inbound, outgoing, template, templates_changed
from tests.store_contract.changes import announced

AGENT = "Ana Souza"

WRITES: dict[str, Callable[[Store], object]] = {
    "apply-a-message": lambda s: s.apply(inbound("wamid.a2", 2), agent=AGENT),
    "apply-a-resolution": lambda s: s.apply(conversation_status(ConversationStatus.RESOLVED, 3), agent=AGENT),
    "apply-templates": lambda s: s.apply(templates_changed(template("welcome"), synced_at=at(3)), agent=AGENT),
    "apply_many": lambda s: s.apply_many([inbound("wamid.a2", 2), inbound("wamid.a3", 3)], agent=AGENT),
    "record_outgoing": lambda s: s.record_outgoing(outgoing("local-2", 2), agent=AGENT),
    "update_outgoing": lambda s: s.update_outgoing(cid(), "local-1", MessageStatus.SENDING, at=at(2), agent=AGENT),
    "mark_read": lambda s: s.mark_read(cid(), agent=AGENT),
    "set_status": lambda s: s.set_status(cid(), ConversationStatus.RESOLVED, agent=AGENT),
}


@pytest.fixture
def alice(store: Store) -> Store:
    """Alice wrote, and our reply to her waits in the outbox."""
    store.apply(inbound("wamid.a1", 0))
    store.record_outgoing(outgoing("local-1", 1))
    return store


@pytest.mark.parametrize("write", list(WRITES.values()), ids=list(WRITES))
async def test_the_acting_agent_is_named_by_each_change_the_write_makes(alice: Store, write: Callable[[Store], object]) -> None:
    changes = await announced(alice, write)
    assert changes, "the write announced nothing"
    assert [c.agent for c in changes] == [AGENT] * len(changes)


async def test_save_draft_takes_the_acting_agent(alice: Store) -> None:
    # A draft changes neither a summary nor a transcript: the contract does not say whether it is
    # announced. What it announces, if anything, names the agent.
    changes = await announced(alice, lambda s: s.save_draft(cid(), "one moment", agent=AGENT))
    assert alice.draft(cid(), agent=AGENT) == "one moment"  # (a shared store keys drafts by agent)
    assert [c.agent for c in changes] == [AGENT] * len(changes)
