-- XEP-0313 message archives (modules/mam): one archive per account (host, username).
-- seq orders an archive (XEP-0313 §3.1) and is generated in-process as
-- max(now in microseconds, last + 1), so it never repeats and never goes back; created_at is
-- the archive time in Unix milliseconds and always equals seq / 1000, which lets start/end
-- filters use the seq indexes. stanza_id is the XEP-0359 id clients see (unique per archive).
-- with_jid is the bare JID of the other party, with_resource its resource ('' if none);
-- direction 1 = sent by the owner, 0 = received. retracted_at / retracted_by are for
-- XEP-0424 / XEP-0425: the row (id, time, with) stays and stanza holds the tombstone.
CREATE TABLE archive_messages (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  seq INTEGER NOT NULL,
  stanza_id TEXT NOT NULL,
  with_jid TEXT NOT NULL,
  with_resource TEXT NOT NULL DEFAULT '',
  direction INTEGER NOT NULL CHECK (direction IN (0, 1)),
  created_at INTEGER NOT NULL,
  stanza TEXT NOT NULL,
  retracted_at INTEGER,
  retracted_by TEXT,
  PRIMARY KEY (host, username, seq)
);
-- Ids are unique per archive: a resent message (same derived id) is ignored.
CREATE UNIQUE INDEX archive_messages_id ON archive_messages (host, username, stanza_id);
-- A page of one conversation: the 'with' filter, in archive order, either direction.
CREATE INDEX archive_messages_with ON archive_messages (host, username, with_jid, seq);
-- Retention purges by age across all archives.
CREATE INDEX archive_messages_created ON archive_messages (created_at);

-- XEP-0441 archiving preferences: the default ('always', 'never', 'roster') and the JIDs
-- always or never archived, normalized, one per line.
CREATE TABLE archive_prefs (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  default_mode TEXT NOT NULL CHECK (default_mode IN ('always', 'never', 'roster')),
  always_jids TEXT NOT NULL DEFAULT '',
  never_jids TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (host, username)
);
