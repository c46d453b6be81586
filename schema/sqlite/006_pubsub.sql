-- XEP-0060 publish-subscribe nodes and items, as the pep module keeps them for each account
-- (modules/pep, PubsubStore; XEP-0163: the account's bare JID is the service). service is that
-- bare JID, normalized (RFC 7622) as Jid gives it; node is the NodeID. config is the pep
-- module's own serialization of the node's settings, which the store does not read;
-- created_at is Unix milliseconds.
CREATE TABLE pubsub_nodes (
  service TEXT NOT NULL,
  node TEXT NOT NULL,
  config TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  PRIMARY KEY (service, node)
);

-- The items of each node, one row per ItemID. payload is the item's payload element as
-- xep::store_element serialized it ('' = an item without payload); publisher is the JID that
-- published it; published_at is Unix milliseconds. seq orders the items of one node: a
-- publication, also of an id the node already holds (which replaces that row), gets
-- max(seq) + 1 of its node, so the newest item has the highest seq. The pep module serializes
-- the work for one service, so that read-then-insert does not race; the index is unique so
-- that two items of a node can never share a place in that order all the same. No foreign key
-- to pubsub_nodes (as for the per-account tables): PubsubStore removes a node and its items in
-- one transaction.
CREATE TABLE pubsub_items (
  service TEXT NOT NULL,
  node TEXT NOT NULL,
  item_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  payload TEXT NOT NULL DEFAULT '',
  publisher TEXT NOT NULL DEFAULT '',
  published_at INTEGER NOT NULL,
  PRIMARY KEY (service, node, item_id)
);
-- The newest or oldest items of a node a page at a time, trimming to max_items, and the
-- last item of every node.
CREATE UNIQUE INDEX pubsub_items_seq ON pubsub_items (service, node, seq);
