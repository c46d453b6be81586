-- XEP-0060 publish-subscribe nodes and items (modules/pep). Same logical schema as
-- schema/sqlite/006_pubsub.sql: nodes keyed by (service = the account's bare JID, NodeID),
-- config opaque to the store, created_at in Unix milliseconds; items keyed by (service, node,
-- ItemID), payload serialized ('' = none), published_at in Unix milliseconds, and seq, per
-- node, max(seq) + 1 at each publication, ordering the items of a node (unique).
CREATE TABLE pubsub_nodes (
  service TEXT COLLATE "C" NOT NULL,
  node TEXT COLLATE "C" NOT NULL,
  config TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  PRIMARY KEY (service, node)
);

CREATE TABLE pubsub_items (
  service TEXT COLLATE "C" NOT NULL,
  node TEXT COLLATE "C" NOT NULL,
  item_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  payload TEXT NOT NULL DEFAULT '',
  publisher TEXT NOT NULL DEFAULT '',
  published_at BIGINT NOT NULL,
  PRIMARY KEY (service, node, item_id)
);
CREATE UNIQUE INDEX pubsub_items_seq ON pubsub_items (service, node, seq);
