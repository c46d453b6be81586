-- Core schema: accounts, rosters (RFC 6121), pending subscription requests, per-account data.
-- Hosts and usernames are stored normalized (RFC 7622), as Jid gives them. Binary SCRAM values
-- are lower-case hex so the SQLite and PostgreSQL schemas hold identical text.
-- Per-account tables carry no foreign key to accounts (stores are usable on their own);
-- AccountStore::remove deletes from each of them in one transaction.

CREATE TABLE accounts (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  -- SCRAM (RFC 5802 §3, RFC 7677): salt, i, StoredKey, ServerKey per hash; NULL = not derived.
  sha1_salt TEXT,
  sha1_iterations INTEGER,
  sha1_stored_key TEXT,
  sha1_server_key TEXT,
  sha256_salt TEXT,
  sha256_iterations INTEGER,
  sha256_stored_key TEXT,
  sha256_server_key TEXT,
  sha512_salt TEXT,
  sha512_iterations INTEGER,
  sha512_stored_key TEXT,
  sha512_server_key TEXT,
  PRIMARY KEY (host, username)
);

-- RFC 6121 §2.1.2: one item per contact bare JID.
CREATE TABLE roster_items (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  contact TEXT NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  subscription TEXT NOT NULL DEFAULT 'none'
    CHECK (subscription IN ('none', 'to', 'from', 'both')),
  ask INTEGER NOT NULL DEFAULT 0,
  approved INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (host, username, contact)
);

-- Groups in their own rows: any UTF-8 group name round-trips without an encoding.
CREATE TABLE roster_groups (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  contact TEXT NOT NULL,
  position INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (host, username, contact, name),
  FOREIGN KEY (host, username, contact)
    REFERENCES roster_items (host, username, contact) ON DELETE CASCADE
);

-- XEP-0237 roster versioning: a counter bumped with every change.
CREATE TABLE roster_versions (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (host, username)
);

-- RFC 6121 §3.1.3: inbound subscription requests awaiting the user's decision.
CREATE TABLE subscription_requests (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  contact TEXT NOT NULL,
  stanza TEXT NOT NULL,
  PRIMARY KEY (host, username, contact)
);

CREATE TABLE user_data (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  store TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (host, username, store, key)
);
