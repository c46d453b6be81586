// The core's default behaviour behind the router's events (DESIGN §4), registered at
// priority::kDefault so modules (offline storage, archive, carbons, blocking) run first: RFC 6121
// §8.5 delivery to local accounts, IQ dispatch, and bounces with the RFC's errors.
#include <algorithm>
#include <charconv>
#include <exception>

#include "core/log.h"
#include "core/server.h"
#include "router/delivery.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "storage/account_store.h"
#include "storage/database.h"
#include "xml/stanza.h"

namespace parley {

namespace delivery {

MessageType message_type(std::string_view type) {
  if (type == "chat") return MessageType::Chat;
  if (type == "groupchat") return MessageType::Groupchat;
  if (type == "headline") return MessageType::Headline;
  if (type == "error") return MessageType::Error;
  return MessageType::Normal;
}

Plan bare_message(MessageType type, const std::vector<Resource>& resources) {
  Plan plan;
  switch (type) {
    case MessageType::Error:  // §8.5.2.1.1: silently ignored
      return plan;
    case MessageType::Groupchat:  // §8.5.2.1.1: never delivered to a bare JID
      plan.action = Action::Bounce;
      return plan;
    case MessageType::Headline:
      // §8.5.2.1.1: every available resource with a non-negative priority; none = ignore.
      for (size_t i = 0; i < resources.size(); ++i)
        if (resources[i].available && resources[i].priority >= 0) plan.targets.push_back(i);
      plan.action = plan.targets.empty() ? Action::Ignore : Action::Deliver;
      return plan;
    case MessageType::Normal:
    case MessageType::Chat: {
      // §8.5.2.1.1: the highest non-negative priority; all resources that share it. Negative
      // priority resources never get messages to the bare JID (§4.7.2.3).
      int best = -1;
      for (const auto& r : resources)
        if (r.available && r.priority >= 0 && r.priority > best) best = r.priority;
      for (size_t i = 0; i < resources.size(); ++i)
        if (best >= 0 && resources[i].available && resources[i].priority == best)
          plan.targets.push_back(i);
      // §8.5.2.2.1: nobody to deliver to. Offline storage hooks MessageToBare above this.
      plan.action = plan.targets.empty() ? Action::Bounce : Action::Deliver;
      return plan;
    }
  }
  return plan;
}

FullAction full_message(MessageType type, bool found) {
  if (found) return FullAction::Deliver;  // §8.5.3.1
  switch (type) {                         // §8.5.3.2.1
    case MessageType::Normal:
    case MessageType::Chat:
    case MessageType::Headline:
      return FullAction::AsBare;
    case MessageType::Groupchat:
      return FullAction::Bounce;
    case MessageType::Error:
      return FullAction::Ignore;
  }
  return FullAction::Ignore;
}

int parse_priority(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t' || text.front() == '\n' ||
                           text.front() == '\r'))
    text.remove_prefix(1);
  while (!text.empty() &&
         (text.back() == ' ' || text.back() == '\t' || text.back() == '\n' || text.back() == '\r'))
    text.remove_suffix(1);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return 0;
  if (value < -128 || value > 127) return 0;
  return value;
}

}  // namespace delivery

namespace {

bool is_request(const xml::Element& iq) {
  auto type = iq.get("type");
  return type == "get" || type == "set";
}

// An IQ to an account or host: dispatched by payload (DESIGN §4). Nobody = service-unavailable
// (RFC 6120 §8.3.3.19); feature-not-implemented is deliberately not used.
void dispatch_iq(Server& server, const IqRequest& request, IqScope scope) {
  if (!server.iq().dispatch(request, scope)) request.error("service-unavailable");
}

}  // namespace

struct Router::Defaults {
  std::vector<HookToken> hooks;

  Defaults(Server& server, Router& router) {
    auto& h = server.hooks();
    const int p = priority::kDefault;
    using namespace delivery;

    hooks.push_back(h.on<MessageToBare>(p, [&server, &router](MessageToBare& e) {
      auto sessions = server.sessions().resources(e.to);
      std::vector<Resource> resources;
      resources.reserve(sessions.size());
      for (const auto& s : sessions) resources.push_back({s->priority.load(), s->available.load()});
      auto plan = bare_message(message_type(e.stanza->get("type")), resources);
      if (plan.action == Action::Deliver) {
        for (size_t i : plan.targets) deliver(sessions[i], e.stanza);
      } else if (plan.action == Action::Bounce) {
        // §8.5.1 (no such user) and §8.5.2.2.1 (no available resource) share this answer.
        router.bounce(*e.stanza, "service-unavailable");
      }
      return Flow::Stop;
    }));

    hooks.push_back(h.on<MessageToFull>(p, [&server, &router](MessageToFull& e) {
      auto session = server.sessions().find(e.to);
      switch (full_message(message_type(e.stanza->get("type")), session != nullptr)) {
        case FullAction::Deliver:
          deliver(session, e.stanza);
          break;
        case FullAction::AsBare: {
          // §8.5.3.2.1: fired as a bare-JID message so offline storage etc. see it too.
          MessageToBare bare{{server, e.stanza, e.from, e.to.bare(), e.origin, e.in_flight}};
          router.finish_routed(bare, server.hooks().fire(bare));
          break;
        }
        case FullAction::Bounce:
          router.bounce(*e.stanza, "service-unavailable");
          break;
        case FullAction::Ignore:
          break;
      }
      return Flow::Stop;
    }));

    // XEP-0198 §4: a message a session never confirmed goes to another resource as a message
    // to the bare JID would (RFC 6121 §8.5.2.1.1), else back to its sender. Offline storage
    // hooks this above.
    hooks.push_back(h.on<MessageUndelivered>(p, [&server, &router](MessageUndelivered& e) {
      auto sessions = server.sessions().resources(e.session->jid().bare());
      std::vector<Resource> resources;
      resources.reserve(sessions.size());
      for (const auto& s : sessions) resources.push_back({s->priority.load(), s->available.load()});
      auto plan = bare_message(message_type(e.stanza->get("type")), resources);
      if (plan.action == Action::Deliver) {
        for (size_t i : plan.targets) {
          const auto& s = sessions[i];
          if (s != e.session && std::find(e.skip.begin(), e.skip.end(), s) == e.skip.end())
            deliver(s, e.stanza);
        }
      } else {
        router.bounce(*e.stanza, "recipient-unavailable");
      }
      return Flow::Stop;
    }));

    hooks.push_back(h.on<MessageToHost>(p, [&router](MessageToHost& e) {
      router.bounce(*e.stanza, "service-unavailable");
      return Flow::Stop;
    }));

    // Presence: subscriptions, probes and broadcasts are handled by im/ above this. What is
    // left is presence from other entities (§8.5.2.1.2, §8.5.3.1).
    hooks.push_back(h.on<PresenceToBare>(p, [&server](PresenceToBare& e) {
      auto type = e.stanza->get("type");
      bool broadcast = !e.stanza->has("to") && e.from.bare() == e.to;
      if (broadcast || !(type.empty() || type == "unavailable" || type == "error"))
        return Flow::Stop;
      for (const auto& s : server.sessions().resources(e.to))
        if (s->available) deliver(s, e.stanza);
      return Flow::Stop;
    }));

    hooks.push_back(h.on<PresenceToFull>(p, [&server](PresenceToFull& e) {
      // §8.5.3.2.2: no such resource = ignore. Probes are answered by the server, not clients.
      if (e.stanza->get("type") == "probe") return Flow::Stop;
      if (auto s = server.sessions().find(e.to)) deliver(s, e.stanza);
      return Flow::Stop;
    }));

    hooks.push_back(h.on<PresenceToHost>(p, [](PresenceToHost&) { return Flow::Stop; }));

    hooks.push_back(h.on<IqToHost>(p, [&server](IqToHost& e) {
      if (!is_request(*e.stanza)) return Flow::Stop;  // responses were offered to the server
      dispatch_iq(server, IqRequest(server, e.stanza, e.from, e.to.bare(), e.origin),
                  IqScope::Host);
      return Flow::Stop;
    }));

    hooks.push_back(h.on<IqToBare>(p, [&server](IqToBare& e) {
      if (!is_request(*e.stanza)) return Flow::Stop;
      IqRequest request(server, e.stanza, e.from, e.to, e.origin);
      if (e.from.bare() == e.to) {
        dispatch_iq(server, request, IqScope::Self);
      } else if (!server.sessions().resources(e.to).empty()) {
        dispatch_iq(server, request, IqScope::Account);  // it has sessions: it exists
      } else {
        // §8.5.1: an IQ to an account that does not exist is service-unavailable. Only this
        // case needs the database, so only this case waits for it.
        server.db().post(e.to.bare_str(), [&server, request](storage::Connection& c) {
          bool exists = false;
          try {
            exists = storage::AccountStore(c).exists(request.to());
          } catch (const std::exception& ex) {
            PLOG(Error, "router") << "account lookup for " << request.to().str()
                                  << " failed: " << ex.what();
            request.error("internal-server-error");
            return;
          }
          if (exists)
            dispatch_iq(server, request, IqScope::Account);
          else
            request.error("service-unavailable");
        });
      }
      return Flow::Stop;
    }));

    hooks.push_back(h.on<IqToFull>(p, [&server, &router](IqToFull& e) {
      if (auto s = server.sessions().find(e.to))
        deliver(s, e.stanza);
      else if (is_request(*e.stanza))
        router.bounce(*e.stanza, "service-unavailable");  // §8.5.3.2.1
      return Flow::Stop;
    }));

    // A hosted service; if it went away since the router looked, it is not there any more.
    hooks.push_back(h.on<StanzaToComponent>(p, [&router, &server](StanzaToComponent& e) {
      if (auto handler = server.components().find(e.to.domain()))
        (*handler)(e);
      else
        router.bounce(*e.stanza, "service-unavailable");
      return Flow::Stop;
    }));

    // Without s2s nothing reaches other domains (RFC 6120 §8.3.3.16).
    hooks.push_back(h.on<StanzaToRemote>(p, [&router](StanzaToRemote& e) {
      router.bounce(*e.stanza, "remote-server-not-found");
      return Flow::Stop;
    }));
  }
};

Router::Router(Server& server)
    : server_(server), defaults_(std::make_unique<Defaults>(server, *this)) {}

Router::~Router() = default;

}  // namespace parley
