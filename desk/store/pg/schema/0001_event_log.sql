-- The ordered event log (docs/team.md): every committed change gets a seq; NOTIFY is the doorbell.
-- Seqs are allocated under an advisory lock (desk/store/pg), so seq order is commit order.
CREATE TABLE events (
    seq bigint PRIMARY KEY,
    kind text NOT NULL,
    conversation_id text,
    business_number_id text,
    agent text,
    committed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_committed_at ON events (committed_at);
