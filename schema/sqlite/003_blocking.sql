-- XEP-0191 Blocking Command: the JIDs each account has blocked, normalized (RFC 7622) when
-- written. One row per (account, blocked JID); a JID may be a domain, bare or full JID.
CREATE TABLE blocklist (
  host TEXT NOT NULL,
  username TEXT NOT NULL,
  jid TEXT NOT NULL,
  PRIMARY KEY (host, username, jid)
);
