"""The JSON forms of what the hub's API carries (docs/team.md), both ways: the hub (hub/api.py)
encodes, its clients (backends/hub, the CLI) decode. Conversations, messages and templates go as
the store's own codec writes them (desk/codec.py), so there is one encoding of each; this module
adds the few the files never needed."""

from __future__ import annotations

from typing import Any

from desk.codec import ts_from_doc, ts_to_doc
from desk.customer import CustomerProfile
from desk.quick_replies import QuickReply
from desk.store.audit import AuditEntry, entry_doc, entry_from_doc
from desk.store.contract import Change, ChangeKind, SearchHit


def audit_to_json(entry: AuditEntry) -> dict[str, Any]:
    return entry_doc(entry.at, entry.agent, entry.action, entry.detail)


def audit_from_json(doc: dict[str, Any]) -> AuditEntry:
    return entry_from_doc(doc)


def change_to_json(change: Change) -> dict[str, Any]:
    return {
        "seq": change.seq, "kind": change.kind.value, "conversation_id": change.conversation_id,
        "business_number_id": change.business_number_id, "agent": change.agent,
    }


def change_from_json(doc: dict[str, Any]) -> Change:
    return Change(
        int(doc["seq"]), ChangeKind(doc["kind"]), doc.get("conversation_id"), doc.get("business_number_id"), doc.get("agent")
    )


def quick_reply_to_json(reply: QuickReply) -> dict[str, Any]:
    return {"shortcut": reply.shortcut, "text": reply.text}


def quick_reply_from_json(doc: dict[str, Any]) -> QuickReply:
    return QuickReply(str(doc["shortcut"]), str(doc["text"]))


def profile_to_json(profile: CustomerProfile) -> dict[str, Any]:
    return {
        "notes": profile.notes, "attributes": [list(pair) for pair in profile.attributes],
        "updated_at": ts_to_doc(profile.updated_at), "updated_by": profile.updated_by,
    }


def profile_from_json(doc: dict[str, Any]) -> CustomerProfile:
    return CustomerProfile(
        str(doc.get("notes", "")), tuple((str(k), str(v)) for k, v in doc.get("attributes", [])),
        ts_from_doc(doc.get("updated_at")), doc.get("updated_by"),
    )


def hit_to_json(hit: SearchHit) -> dict[str, Any]:
    return {
        "conversation_id": hit.conversation_id, "message_id": hit.message_id, "timestamp": ts_to_doc(hit.timestamp),
        "snippet": hit.snippet, "marks": [list(m) for m in hit.marks],
    }


def hit_from_json(doc: dict[str, Any]) -> SearchHit:
    return SearchHit(
        str(doc["conversation_id"]), doc.get("message_id"), ts_from_doc(doc.get("timestamp")), str(doc["snippet"]),
        tuple((int(a), int(b)) for a, b in doc.get("marks", [])),
    )
