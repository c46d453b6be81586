// XEP-0045 Multi-User Chat as a service on a domain of its own (groups.<host> by default), with
// XEP-0421 occupant ids, XEP-0359 stanza ids on room messages and XEP-0410 self-pings. This
// file is the module: the service's disco and ping (§6.1-§6.3), room creation policy (§10.1),
// and the registry of rooms, each an actor on its own strand (DESIGN §2). The XEP's rules for
// one room are in room.cpp and admin.cpp.
#include <openssl/rand.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "core/module.h"
#include "room.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "xep/disco.h"
#include "xml/stanza.h"

namespace parley {
namespace {

namespace asio = boost::asio;
using muc::Room;

enum class CreatePolicy { Anyone, Admins, Local };

// A room and its strand. `room` is touched only on `strand`; `listed` and `name` are a
// snapshot for the service's disco#items, read under the registry's mutex.
struct RoomActor {
  RoomActor(asio::io_context& io, Room r) : strand(asio::make_strand(io)), room(std::move(r)) {}
  asio::strand<asio::io_context::executor_type> strand;
  Room room;
  bool dead = false;  // on the strand: dropped from the registry, stanzas go round again
  bool listed = false;
  std::string name;
};

struct Service {
  explicit Service(Server& s) : server(s) {}
  Server& server;
  muc::ServiceOptions options;
  CreatePolicy create = CreatePolicy::Local;
  std::string secret;  // XEP-0421 occupant ids (random per start until rooms are stored)
  // Durable state (room_store.h) goes through here; null until the store is wired.
  std::shared_ptr<muc::Persistence> persistence;

  std::mutex mutex;  // the registry; never held while a room runs or anything is routed
  std::unordered_map<std::string, std::shared_ptr<RoomActor>> rooms;  // by room bare JID

  bool may_create(const Jid& who) const {
    switch (create) {
      case CreatePolicy::Anyone:
        return true;
      case CreatePolicy::Admins:
        return server.is_admin(who.bare());
      case CreatePolicy::Local:
        return server.is_local(who.domain());
    }
    return false;
  }

  std::shared_ptr<RoomActor> find(const Jid& room) {
    std::lock_guard lock(mutex);
    auto it = rooms.find(room.str());
    return it == rooms.end() ? nullptr : it->second;
  }

  std::shared_ptr<RoomActor> find_or_create(const Jid& room, const Jid& creator) {
    std::lock_guard lock(mutex);
    auto& slot = rooms[room.str()];
    if (!slot)
      slot = std::make_shared<RoomActor>(server.io(),
                                         Room(room, options, secret, creator, persistence));
    return slot;
  }

  void drop(const Jid& room, const std::shared_ptr<RoomActor>& actor) {
    std::lock_guard lock(mutex);
    auto it = rooms.find(room.str());
    if (it != rooms.end() && it->second == actor) rooms.erase(it);
  }

  void reply(const xml::Element& iq, std::optional<xml::Element> payload = std::nullopt) {
    server.router().route(payload ? stanza::iq_result(iq, std::move(*payload))
                                  : stanza::iq_result(iq));
  }

  // §6.1-§6.3: the service itself.
  void to_service(const std::shared_ptr<xml::Element>& st) {
    if (st->name() == "message") {
      if (st->get("type") != "error") server.router().bounce(*st, "service-unavailable");
      return;
    }
    if (st->name() != "iq") return;  // presence to the service: nothing to do
    auto type = st->get("type");
    if (type != "get" && type != "set") return;
    const auto* q = st->first_child();
    namespace disco = xep::disco;
    if (q && type == "get" && q->xmlns() == disco::kInfoNs && q->name() == "query") {
      if (q->has("node")) return server.router().bounce(*st, "item-not-found");
      disco::Info info;
      info.identities.push_back({"conference", "text", "Chatrooms"});
      info.features = {std::string(muc::kMucNs), std::string(disco::kInfoNs),
                       std::string(disco::kItemsNs), std::string(muc::kPingNs),
                       std::string(muc::kOccupantIdNs)};
      return reply(*st, disco::to_element(info));
    }
    if (q && type == "get" && q->xmlns() == disco::kItemsNs && q->name() == "query") {
      if (q->has("node")) return server.router().bounce(*st, "item-not-found");
      disco::Items items;  // §6.3: the public rooms
      {
        std::lock_guard lock(mutex);
        for (const auto& [jid, actor] : rooms)
          if (actor->listed) items.items.push_back({jid, "", actor->name});
      }
      std::sort(items.items.begin(), items.items.end(),
                [](const auto& a, const auto& b) { return a.jid < b.jid; });
      return reply(*st, disco::to_element(items));
    }
    if (q && type == "get" && q->xmlns() == muc::kPingNs && q->name() == "ping")
      return reply(*st);  // XEP-0199 §4.3
    server.router().bounce(*st, "service-unavailable");
  }

  void dispatch(std::shared_ptr<xml::Element> st, const Jid& from, const Jid& to,
                const std::shared_ptr<Service>& self) {
    if (!to.has_local()) return to_service(st);
    const Jid room = to.bare();
    auto actor = find(room);
    if (!actor) {
      auto type = st->get("type");
      if (st->name() == "presence") {
        if (!type.empty()) return;  // unavailable or error to a room that is gone
        if (!to.has_resource())
          return server.router().bounce(*st, "jid-malformed", "A nickname is required");
        if (!may_create(from))  // §10.1.1
          return server.router().bounce(*st, "not-allowed", "You may not create rooms here");
        actor = find_or_create(room, from);
      } else {
        if (stanza::is_error(*st) || (st->name() == "iq" && type != "get" && type != "set")) return;
        return server.router().bounce(*st, "item-not-found");
      }
    }
    asio::post(actor->strand, [self, actor, st = std::move(st), from, to]() mutable {
      if (actor->dead) return self->dispatch(std::move(st), from, to, self);
      muc::Outbox out;
      actor->room.handle(*st, from, out, std::chrono::system_clock::now());
      bool alive = actor->room.alive();
      if (!alive) {
        actor->dead = true;
        self->drop(actor->room.jid(), actor);
      } else {
        std::lock_guard lock(self->mutex);
        actor->listed = actor->room.listed();
        actor->name = actor->room.settings().name;
      }
      for (auto& s : out) self->server.router().route(std::move(s));
    });
  }
};

struct Muc {
  struct Config {
    std::string domain;  // "" = groups.<host> for every host
    int max_history = 20;
    int default_history = 20;
    int max_occupants = 1000;
    CreatePolicy create_rooms = CreatePolicy::Local;

    static Config parse(const ConfigSection& s) {
      Config c;
      c.domain = s.string("domain", "");
      if (!c.domain.empty()) {
        auto d = Jid::prep_domain(c.domain);
        if (!d) throw ConfigError(s.path() + ".domain: not a valid domain");
        c.domain = *d;
      }
      c.max_history = static_cast<int>(s.integer("max_history", 20, 0, 1000));
      c.default_history = static_cast<int>(s.integer("default_history", 20, 0, 1000));
      c.max_occupants = static_cast<int>(s.integer("max_occupants", 1000, 0, 1'000'000));
      auto create = s.one_of("create_rooms", "local", {"anyone", "admins", "local"});
      c.create_rooms = create == "anyone"   ? CreatePolicy::Anyone
                       : create == "admins" ? CreatePolicy::Admins
                                            : CreatePolicy::Local;
      return c;
    }
  };

  Muc(ModuleContext& ctx, const Config& config) {
    auto service = std::make_shared<Service>(ctx.server());
    service->create = config.create_rooms;
    service->options.max_history = config.max_history;
    service->options.default_history = std::min(config.default_history, config.max_history);
    service->options.max_occupants = config.max_occupants;
    std::string secret(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32) != 1)
      throw std::runtime_error("muc: RAND_bytes failed");
    service->secret = std::move(secret);

    auto handler = [service](StanzaToComponent& e) {
      service->dispatch(e.stanza, e.from, e.to, service);
    };
    if (!config.domain.empty()) {
      ctx.component(config.domain, handler);
      ctx.disco_item({"", config.domain, "", "Chatrooms"});
    } else {
      for (const auto& host : ctx.server().config().hosts) {
        std::string domain = "groups." + host.domain;
        ctx.component(domain, handler);
        ctx.disco_item({host.domain, domain, "", "Chatrooms"});
      }
    }
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Muc)
