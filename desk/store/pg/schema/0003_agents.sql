-- The hub's agents (hub/agents.py): a token is shown once; only its SHA-256 is kept, so a copy of
-- the database gives nobody a way in. A revoked agent stays, for the audit log's names.
CREATE TABLE agents (
    name text PRIMARY KEY,
    role text NOT NULL CHECK (role IN ('agent', 'admin')),
    departments text[] NOT NULL DEFAULT '{}',
    token_sha256 bytea UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
