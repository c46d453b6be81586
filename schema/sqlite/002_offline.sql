-- XEP-0160 offline messages: stanzas kept for an account with no available resource, in
-- arrival order (id), with the time the server received them (Unix milliseconds) for the
-- XEP-0203 <delay/> stamp and for retention.
CREATE TABLE offline_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  -- The message's XEP-0359 archive id (the recipient's <stanza-id/>), when it has one: a
  -- message stored twice (a client resending after a crash) is kept once.
  stanza_id TEXT,
  received_at INTEGER NOT NULL,
  stanza TEXT NOT NULL
);
CREATE INDEX offline_messages_owner ON offline_messages (host, username, id);
CREATE INDEX offline_messages_received ON offline_messages (received_at);
CREATE UNIQUE INDEX offline_messages_stanza_id ON offline_messages (host, username, stanza_id);
