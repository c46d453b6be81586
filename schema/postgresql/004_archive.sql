-- XEP-0313 message archives (modules/mam). Same logical schema as
-- schema/sqlite/004_archive.sql: seq (microseconds, strictly increasing, generated
-- in-process) orders an archive and created_at = seq / 1000 is its time in Unix milliseconds;
-- stanza_id is unique per archive; with_jid / with_resource name the other party; direction
-- 1 = sent, 0 = received; retracted_at / retracted_by for XEP-0424 / XEP-0425 tombstones.
CREATE TABLE archive_messages (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  stanza_id TEXT COLLATE "C" NOT NULL,
  with_jid TEXT COLLATE "C" NOT NULL,
  with_resource TEXT COLLATE "C" NOT NULL DEFAULT '',
  direction SMALLINT NOT NULL CHECK (direction IN (0, 1)),
  created_at BIGINT NOT NULL,
  stanza TEXT NOT NULL,
  retracted_at BIGINT,
  retracted_by TEXT COLLATE "C",
  PRIMARY KEY (host, username, seq)
);
CREATE UNIQUE INDEX archive_messages_id ON archive_messages (host, username, stanza_id);
CREATE INDEX archive_messages_with ON archive_messages (host, username, with_jid, seq);
CREATE INDEX archive_messages_created ON archive_messages (created_at);

-- XEP-0441 archiving preferences.
CREATE TABLE archive_prefs (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  default_mode TEXT NOT NULL CHECK (default_mode IN ('always', 'never', 'roster')),
  always_jids TEXT COLLATE "C" NOT NULL DEFAULT '',
  never_jids TEXT COLLATE "C" NOT NULL DEFAULT '',
  PRIMARY KEY (host, username)
);
