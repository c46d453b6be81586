-- XEP-0045 persistent group chat rooms (modules/muc). Same logical schema as
-- schema/sqlite/005_muc.sql: rooms keyed by (service domain, room localpart), config opaque to
-- the store, room_name / is_public copied out of it for listing public rooms, created_at in
-- Unix milliseconds; affiliations ('none' never stored) keyed by (service, room, bare JID).
CREATE TABLE muc_rooms (
  service TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  room_name TEXT NOT NULL DEFAULT '',
  is_public SMALLINT NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
  config TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  subject_by TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  PRIMARY KEY (service, name)
);
CREATE INDEX muc_rooms_public ON muc_rooms (service, is_public, name);

CREATE TABLE muc_affiliations (
  service TEXT COLLATE "C" NOT NULL,
  room TEXT COLLATE "C" NOT NULL,
  jid TEXT COLLATE "C" NOT NULL,
  affiliation TEXT NOT NULL CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
  nick TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (service, room, jid)
);
