-- XEP-0191 Blocking Command: the JIDs each account has blocked, normalized (RFC 7622) when
-- written. One row per (account, blocked JID); a JID may be a domain, bare or full JID.
CREATE TABLE blocklist (
  host TEXT COLLATE "C" NOT NULL,
  username TEXT COLLATE "C" NOT NULL,
  jid TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (host, username, jid)
);
