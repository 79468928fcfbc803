-- Files posted through the API for sending (hub/files.py): kept in the database, by the send's
-- idempotency key, so that whichever replica claims the send can read the file, and a retry
-- after a restart still has it. A replica copies one into its own data directory to send it.
CREATE TABLE hub_files (
    key text PRIMARY KEY,
    filename text NOT NULL,
    content bytea NOT NULL,
    kept_at timestamptz NOT NULL DEFAULT now()
);
