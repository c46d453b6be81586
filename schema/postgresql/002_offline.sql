-- XEP-0160 offline messages. Same logical schema as schema/sqlite/002_offline.sql: stanzas in
-- arrival order (id) with the receipt time in Unix milliseconds.
CREATE TABLE offline_messages (
  id BIGSERIAL PRIMARY KEY,
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  -- The message's XEP-0359 archive id (the recipient's <stanza-id/>), when it has one: a
  -- message stored twice (a client resending after a crash) is kept once.
  stanza_id TEXT COLLATE "C",
  received_at BIGINT NOT NULL,
  stanza TEXT NOT NULL
);
CREATE INDEX offline_messages_owner ON offline_messages (host, username, id);
CREATE INDEX offline_messages_received ON offline_messages (received_at);
CREATE UNIQUE INDEX offline_messages_stanza_id ON offline_messages (host, username, stanza_id);
