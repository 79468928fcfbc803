-- The PostgreSQL store (desk/store/pg; docs/storage.md has the why).
-- One row per conversation: its document (desk/store/document.py: conversation meta, messages,
-- statuses waiting for a wamid, audit) and its summary (desk.codec.conversation_to_row), both
-- written in the transaction that decided the change, under the row's lock.
CREATE TABLE conversations (
    id text PRIMARY KEY,
    business_number_id text,             -- NULL (with customer_id) until the conversation exists
    customer_id text,
    document jsonb,                      -- NULL: locked for a write, no conversation yet
    summary jsonb,                       -- NULL until the conversation exists
    waiting boolean NOT NULL DEFAULT false,   -- the customer waits for our reply
    in_flight boolean NOT NULL DEFAULT false  -- holds our messages QUEUED or SENDING
);
CREATE INDEX conversations_waiting ON conversations (id) WHERE waiting;
CREATE INDEX conversations_in_flight ON conversations (id) WHERE in_flight;
CREATE INDEX conversations_customer ON conversations (customer_id);

-- Change numbers: never given out twice, also after events are trimmed. Taken under the event
-- log's advisory lock, so that seq order is commit order.
CREATE SEQUENCE event_seq AS bigint;
CREATE TABLE event_floor (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq bigint NOT NULL                  -- events up to this one may have been trimmed
);
INSERT INTO event_floor (seq) VALUES (0);

-- Who claimed a message SENDING: a store instance (a hub replica), alive while its session holds
-- the advisory lock (OWNER_SPACE, owner). A message whose owner is gone becomes UNKNOWN.
CREATE TABLE store_owners (
    id serial PRIMARY KEY,
    started_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE sending (
    conversation_id text NOT NULL,
    message_id text NOT NULL,
    owner integer NOT NULL,
    PRIMARY KEY (conversation_id, message_id)
);
CREATE INDEX sending_owner ON sending (owner);

-- Each agent's own: drafts (per agent and conversation) and tabs.
CREATE TABLE drafts (
    agent text NOT NULL,
    conversation_id text NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (agent, conversation_id)
);
CREATE TABLE tabs (
    agent text PRIMARY KEY,
    conversations jsonb NOT NULL
);

-- The team's: template catalogues (per business number), quick replies, customer profiles.
CREATE TABLE templates (
    business_number_id text PRIMARY KEY,
    templates jsonb NOT NULL,            -- desk.codec.template_to_doc each
    synced_at double precision           -- seconds since the epoch; NULL: never synced whole
);
CREATE TABLE quick_replies (
    shortcut text PRIMARY KEY,
    text text NOT NULL
);
CREATE TABLE customer_profiles (
    customer_id text PRIMARY KEY,
    notes text NOT NULL,
    attributes jsonb NOT NULL,
    updated_at double precision,
    updated_by text
);

-- The search index, kept on the write path: what desk.search reads of each message and
-- customer, and each of its folded words (desk.search.words) for prefix look-ups.
CREATE TABLE search_texts (
    conversation_id text NOT NULL,
    message_id text NOT NULL,            -- '': the conversation's customer
    at double precision,                 -- the message's timestamp (NULL for a customer)
    text text NOT NULL,                  -- as written: the snippet is cut from it
    PRIMARY KEY (conversation_id, message_id)
);
CREATE INDEX search_texts_at ON search_texts (at DESC);
CREATE TABLE search_words (
    word text COLLATE "C" NOT NULL,
    conversation_id text NOT NULL,
    message_id text NOT NULL,
    PRIMARY KEY (word, conversation_id, message_id)
);
CREATE INDEX search_words_of ON search_words (conversation_id, message_id);
