-- Core schema: accounts, rosters (RFC 6121), pending subscription requests, per-account data.
-- Same logical schema as schema/sqlite/001_core.sql. Identifiers use COLLATE "C" so ordering
-- and comparison are bytewise, exactly as in SQLite, whatever the database locale.
-- Per-account tables carry no foreign key to accounts (stores are usable on their own);
-- AccountStore::remove deletes from each of them in one transaction.

CREATE TABLE accounts (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  disabled SMALLINT NOT NULL DEFAULT 0,
  -- SCRAM (RFC 5802 §3, RFC 7677): salt, i, StoredKey, ServerKey per hash, lower-case hex;
  -- NULL = not derived.
  sha1_salt TEXT,
  sha1_iterations BIGINT,
  sha1_stored_key TEXT,
  sha1_server_key TEXT,
  sha256_salt TEXT,
  sha256_iterations BIGINT,
  sha256_stored_key TEXT,
  sha256_server_key TEXT,
  sha512_salt TEXT,
  sha512_iterations BIGINT,
  sha512_stored_key TEXT,
  sha512_server_key TEXT,
  PRIMARY KEY (host, username)
);

-- RFC 6121 §2.1.2: one item per contact bare JID.
CREATE TABLE roster_items (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  contact TEXT COLLATE "C" NOT NULL,
  name TEXT NOT NULL DEFAULT '',
  subscription TEXT NOT NULL DEFAULT 'none'
    CHECK (subscription IN ('none', 'to', 'from', 'both')),
  ask SMALLINT NOT NULL DEFAULT 0,
  approved SMALLINT NOT NULL DEFAULT 0,
  PRIMARY KEY (host, username, contact)
);

-- Groups in their own rows: any UTF-8 group name round-trips without an encoding.
CREATE TABLE roster_groups (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  contact TEXT COLLATE "C" NOT NULL,
  position INTEGER NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (host, username, contact, name),
  FOREIGN KEY (host, username, contact)
    REFERENCES roster_items (host, username, contact) ON DELETE CASCADE
);

-- XEP-0237 roster versioning: a counter bumped with every change.
CREATE TABLE roster_versions (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (host, username)
);

-- RFC 6121 §3.1.3: inbound subscription requests awaiting the user's decision.
CREATE TABLE subscription_requests (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  contact TEXT COLLATE "C" NOT NULL,
  stanza TEXT NOT NULL,
  PRIMARY KEY (host, username, contact)
);

CREATE TABLE user_data (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  store TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (host, username, store, key)
);
