-- The hub's coordination tables (hub/ingest.py, hub/applier.py, hub/sender.py): every replica
-- works from these, so nothing is decided in one process's memory.

-- Webhook bodies as Meta sent them, committed before the 200. dedupe_key = sha256(raw): an exact
-- redelivery (Meta's retries, two replicas given the same POST) stops at the door. applied_at is
-- set in the applier's transaction once the store has every event of the body.
CREATE TABLE webhook_inbox (
    id bigserial PRIMARY KEY,
    dedupe_key bytea NOT NULL UNIQUE,
    raw bytea NOT NULL,
    received_at timestamptz NOT NULL,
    applied_at timestamptz
);
-- What the appliers look for, oldest first; small whatever the history.
CREATE INDEX webhook_inbox_unapplied ON webhook_inbox (id) WHERE applied_at IS NULL;

-- Our messages to send, one row each, keyed as the store keys them. A replica claims a row
-- FOR UPDATE SKIP LOCKED and holds that lock for the whole send; the store's own status (QUEUED,
-- SENDING, ...) says what happened before a claimer died. done_at: the outcome is in the store.
CREATE TABLE hub_outbox (
    conversation_id text NOT NULL,
    message_id text NOT NULL,
    queued_at timestamptz NOT NULL,
    done_at timestamptz,
    PRIMARY KEY (conversation_id, message_id)
);
CREATE INDEX hub_outbox_pending ON hub_outbox (queued_at) WHERE done_at IS NULL;
