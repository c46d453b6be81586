// What the pep module offers other modules (DESIGN §5 services) and the events it fires
// (DESIGN §4). A module that publishes on an account's behalf (XEP-0398 avatar conversion,
// XEP-0402 bookmarks compatibility) lists "pep" in its depends() and takes
// ctx.service<pep::Service>(); a module that only watches includes this header and registers
// ctx.on<pep::ItemPublished>(...) without depending on pep.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jid/jid.h"
#include "xml/element.h"

namespace parley {
class Server;
}

namespace parley::pep {

inline constexpr std::string_view kPubsubNs = "http://jabber.org/protocol/pubsub";
inline constexpr std::string_view kEventNs = "http://jabber.org/protocol/pubsub#event";
inline constexpr std::string_view kOwnerNs = "http://jabber.org/protocol/pubsub#owner";
inline constexpr std::string_view kErrorsNs = "http://jabber.org/protocol/pubsub#errors";

// publish-options / node configuration fields, by var ("pubsub#access_model" -> {"open"}).
using Options = std::map<std::string, std::vector<std::string>>;

// The outcome of a request made through the service: empty = done; otherwise the stanza error
// condition ("item-not-found", "conflict", ...) and, where XEP-0060 names one, its
// pubsub#errors condition ("precondition-not-met").
struct Error {
  std::string condition;
  std::string pubsub_condition;
  explicit operator bool() const { return !condition.empty(); }
};

struct Item {
  std::string id;
  std::shared_ptr<const xml::Element> payload;  // null for an item without payload
  std::string publisher;
};

class Service {
 public:
  virtual ~Service() = default;
  // Publishes `payload` as item `id` ("" = the service makes one) on `owner`'s `node`, as the
  // owner would (auto-create, publish-options as preconditions, notifications), but without
  // firing ItemPublished with `by_client` set. `done` gets the item id or the error.
  virtual void publish(const Jid& owner, const std::string& node, std::string id,
                       std::shared_ptr<const xml::Element> payload, Options publish_options,
                       std::function<void(Error, std::string id)> done) = 0;
  // Retracts item `id` of `owner`'s `node`, notifying subscribers of the retraction.
  virtual void retract(const Jid& owner, const std::string& node, const std::string& id,
                       std::function<void(Error)> done) = 0;
  // The node's items, newest first (all of them, up to the node's max_items). item-not-found
  // when there is no such node.
  virtual void items(const Jid& owner, const std::string& node,
                     std::function<void(Error, std::vector<Item>)> done) = 0;
};

// An item was published on an account's node (and stored, when the node persists items).
// Fired on the account's database worker after the commit, before notifications go out.
// Handlers must not block. `by_client`: the owner's client published it (not Service::publish).
struct ItemPublished {
  static constexpr std::string_view kName = "pep/item-published";
  Server& server;
  Jid owner;
  std::string node;
  Item item;
  bool by_client;
};

// An item was retracted, or every item of a node was removed (purge, delete: `item_id` empty).
struct ItemsRemoved {
  static constexpr std::string_view kName = "pep/items-removed";
  Server& server;
  Jid owner;
  std::string node;
  std::string item_id;  // "" = all of the node's items
  bool by_client;
};

}  // namespace parley::pep
