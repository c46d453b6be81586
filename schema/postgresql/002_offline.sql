-- XEP-0160 offline messages. Same logical schema as schema/sqlite/002_offline.sql: stanzas in
-- arrival order (id) with the receipt time in Unix milliseconds.
CREATE TABLE offline_messages (
  id BIGSERIAL PRIMARY KEY,
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  received_at BIGINT NOT NULL,
  stanza TEXT NOT NULL
);
CREATE INDEX offline_messages_owner ON offline_messages (host, username, id);
CREATE INDEX offline_messages_received ON offline_messages (received_at);
