-- XEP-0045 persistent group chat rooms (modules/muc, RoomStore). A room is keyed by its
-- service's domain and its localpart (room@service), both normalized (RFC 7622) as Jid gives
-- them. config is the muc module's own serialization of the room's settings, which the store
-- does not read; room_name (muc#roomconfig_roomname) and is_public (muc#roomconfig_publicroom,
-- 1 = listed) are copies of the two settings that listing public rooms needs. subject and
-- subject_by are the XEP-0045 §8.1 subject and who set it ('' = none); created_at is Unix
-- milliseconds.
CREATE TABLE muc_rooms (
  service TEXT NOT NULL,
  name TEXT NOT NULL,
  room_name TEXT NOT NULL DEFAULT '',
  is_public INTEGER NOT NULL DEFAULT 0 CHECK (is_public IN (0, 1)),
  config TEXT NOT NULL DEFAULT '',
  subject TEXT NOT NULL DEFAULT '',
  subject_by TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (service, name)
);
-- disco#items on a service: its public rooms in name order, a page at a time.
CREATE INDEX muc_rooms_public ON muc_rooms (service, is_public, name);

-- XEP-0045 §5.2 affiliations of each room: one row per bare JID (or domain, for a banned
-- server); 'none' is never stored. nick is the reserved nickname (§7.12, '' = none), reason
-- what the admin gave. No foreign key to muc_rooms (as for the per-account tables): RoomStore
-- removes a room and its affiliations in one transaction.
CREATE TABLE muc_affiliations (
  service TEXT NOT NULL,
  room TEXT NOT NULL,
  jid TEXT NOT NULL,
  affiliation TEXT NOT NULL CHECK (affiliation IN ('owner', 'admin', 'member', 'outcast')),
  nick TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (service, room, jid)
);
