// Classification (RFC 6120 §10, RFC 6121 §8): kind x target -> one typed event. The behaviour
// behind the events is in default_handlers.cpp (the core's defaults) and in im/.
#include "router/router.h"

#include <atomic>
#include <exception>
#include <stdexcept>

#include "core/log.h"
#include "core/server.h"
#include "router/stanza_events.h"
#include "xml/stanza.h"

namespace parley {

namespace {

enum class Kind { Message, Presence, Iq, Other };

Kind kind_of(const xml::Element& stanza) {
  const auto& n = stanza.name();
  if (n == "message") return Kind::Message;
  if (n == "presence") return Kind::Presence;
  if (n == "iq") return Kind::Iq;
  return Kind::Other;
}

size_t element_children(const xml::Element& e) {
  size_t n = 0;
  for (const auto& node : e.nodes())
    if (!node.is_text()) ++n;
  return n;
}

// A reply is due to a failed IQ request or message; presence and errors get none.
bool reply_due(const xml::Element& stanza) {
  if (stanza::is_error(stanza)) return false;
  if (stanza.name() == "iq") {
    auto type = stanza.get("type");
    return type == "get" || type == "set";
  }
  return stanza.name() == "message";
}

// The target of a stanza. No 'to' means the sender's own account (RFC 6120 §10.3); nullopt
// when 'to' is not a valid JID.
std::optional<Jid> target_of(const xml::Element& stanza, const Jid& from) {
  const std::string* to = stanza.attr("to");
  if (!to || to->empty()) return from.bare();
  return Jid::parse(*to);
}

}  // namespace

void Router::from_client(const SessionPtr& origin, std::shared_ptr<xml::Element> stanza,
                         InFlight in_flight) {
  if (!origin || !stanza) return;
  const Jid& from = origin->jid();
  // RFC 6120 §8.1.2.1: the server stamps the full JID; a client never speaks as another.
  stanza->set("from", from.str());
  auto to = target_of(*stanza, from);
  if (!to) {
    // RFC 6120 §8.3.3.8. The bad address cannot be the reply's 'from': the server answers.
    if (stanza::is_error(*stanza)) return;
    auto reply = stanza::error_reply(*stanza, "jid-malformed");
    reply.set("from", from.domain());
    reply.set("to", from.str());
    deliver(origin, std::make_shared<const xml::Element>(std::move(reply)));
    return;
  }
  StanzaFromClient event{{server_, std::move(stanza), from, *to, origin, std::move(in_flight)}};
  finish_from_client(event, server_.hooks().fire(event));
}

void Router::finish_from_client(const StanzaFromClient& event, const Fired& fired) {
  if (fired.failed) {
    if (reply_due(*event.stanza)) bounce(*event.stanza, "internal-server-error");
    return;
  }
  if (fired.stopped) return;
  dispatch(event.stanza, event.from, event.origin, event.in_flight);
}

void Router::finish_routed(const StanzaEvent& event, const Fired& fired) {
  // DESIGN §4: a handler that threw is logged by Hooks; the sender gets internal-server-error.
  if (fired.failed && reply_due(*event.stanza)) bounce(*event.stanza, "internal-server-error");
}

template <class E>
void Router::fire_routed(const std::shared_ptr<xml::Element>& stanza, const Jid& from,
                         const Jid& to, const SessionPtr& origin, const InFlight& in_flight) {
  E event{{server_, stanza, from, to, origin, in_flight}};
  finish_routed(event, server_.hooks().fire(event));
}

void Router::route(std::shared_ptr<xml::Element> stanza) {
  if (!stanza) return;
  auto from = Jid::parse(stanza->get("from"));
  if (!from) {
    PLOG(Warn, "router") << "dropped a " << stanza->name() << " without a valid 'from'";
    return;
  }
  dispatch(std::move(stanza), *from, nullptr, nullptr);
}

void Router::dispatch(std::shared_ptr<xml::Element> stanza, const Jid& from,
                      const SessionPtr& origin, const InFlight& in_flight) {
  Kind kind = kind_of(*stanza);
  if (kind == Kind::Other) {
    PLOG(Debug, "router") << "ignored <" << stanza->name() << "/> from " << from.str();
    return;
  }
  bool has_to = !stanza->get("to").empty();
  auto to = target_of(*stanza, from);
  if (!to) {
    // Only server-generated stanzas reach this (from_client checked already).
    PLOG(Warn, "router") << "dropped a " << stanza->name() << " to a malformed JID from "
                         << from.str();
    return;
  }
  bool local = server_.is_local(to->domain());
  bool host = local && !to->has_local();  // "domain/resource" is the server too

  if (kind == Kind::Iq) {
    auto type = stanza->get("type");
    bool request = type == "get" || type == "set";
    if (!request && type != "result" && type != "error") {
      bounce(*stanza, "bad-request", "IQ type must be get, set, result or error");
      return;
    }
    if (!stanza->has("id")) {  // RFC 6120 §8.2.3: 'id' is required
      bounce(*stanza, "bad-request", "IQ without an id");
      return;
    }
    if (request && element_children(*stanza) != 1) {  // RFC 6120 §8.2.3
      bounce(*stanza, "bad-request", "IQ get/set must have exactly one child element");
      return;
    }
    if (!request && (!has_to || host || (origin && *to == from.bare()))) {
      // A response to something the server sent (pings, roster pushes from the bare JID).
      if (server_.take_iq_response(*stanza) || !has_to) return;
    }
  }

  if (!local && server_.components().has(to->domain())) {
    fire_routed<StanzaToComponent>(stanza, from, *to, origin, in_flight);
  } else if (!local) {
    fire_routed<StanzaToRemote>(stanza, from, *to, origin, in_flight);
  } else if (kind == Kind::Message) {
    if (host)
      fire_routed<MessageToHost>(stanza, from, *to, origin, in_flight);
    else if (to->is_bare())
      fire_routed<MessageToBare>(stanza, from, *to, origin, in_flight);
    else
      fire_routed<MessageToFull>(stanza, from, *to, origin, in_flight);
  } else if (kind == Kind::Presence) {
    // Presence without 'to' is a broadcast, fired as presence to the sender's own bare JID.
    if (host)
      fire_routed<PresenceToHost>(stanza, from, *to, origin, in_flight);
    else if (to->is_bare())
      fire_routed<PresenceToBare>(stanza, from, *to, origin, in_flight);
    else
      fire_routed<PresenceToFull>(stanza, from, *to, origin, in_flight);
  } else {
    if (host)
      fire_routed<IqToHost>(stanza, from, *to, origin, in_flight);
    else if (to->is_bare())
      fire_routed<IqToBare>(stanza, from, *to, origin, in_flight);
    else
      fire_routed<IqToFull>(stanza, from, *to, origin, in_flight);
  }
}

void Router::deliver(const SessionPtr& session, std::shared_ptr<const xml::Element> stanza) {
  if (session && stanza) session->deliver(std::move(stanza));
}

void Router::bounce(const xml::Element& stanza, std::string_view condition, std::string_view text) {
  if (stanza::is_error(stanza)) return;  // RFC 6120 §8.3.1: never answer an error with one
  auto reply = stanza::error_reply(stanza, condition, text);
  if (reply.get("to").empty()) return;  // no sender to tell
  if (reply.get("from").empty()) {
    // The original had no 'to': it was for the sender's own account (RFC 6120 §10.3).
    if (auto sender = Jid::parse(stanza.get("from"))) reply.set("from", sender->bare().str());
  }
  route(std::move(reply));
}

// ---- Suspension (continuation.h) ----

struct Continuation::State {
  State(Hooks::Position p, bool client) : at(p), from_client(client) {}
  virtual ~State() = default;
  virtual StanzaEvent& event() = 0;
  virtual Fired fire_rest() = 0;  // the handlers after `at`
  const Hooks::Position at;
  const bool from_client;  // the event is StanzaFromClient (routed on afterwards)
  std::atomic<bool> done{false};
};

namespace {

template <class E>
struct Suspended final : Continuation::State {
  Suspended(const E& e, Hooks::Position p)
      : State(p, std::is_same_v<E, StanzaFromClient>), copy(e) {}
  StanzaEvent& event() override { return copy; }
  Fired fire_rest() override { return copy.server.hooks().fire_after(copy, at); }
  E copy;
};

}  // namespace

template <std::derived_from<StanzaEvent> E>
Continuation suspend(E& event) {
  Hooks::Position at = event.server.hooks().position();
  if (at.type != typeid(E)) throw std::logic_error("suspend(): not inside a handler of this event");
  return Continuation(std::make_shared<Suspended<E>>(event, at));
}

// The router's events; suspend() of any other is a link error.
template Continuation suspend(StanzaFromClient&);
template Continuation suspend(MessageToHost&);
template Continuation suspend(MessageToBare&);
template Continuation suspend(MessageToFull&);
template Continuation suspend(PresenceToHost&);
template Continuation suspend(PresenceToBare&);
template Continuation suspend(PresenceToFull&);
template Continuation suspend(IqToHost&);
template Continuation suspend(IqToBare&);
template Continuation suspend(IqToFull&);
template Continuation suspend(StanzaToRemote&);
template Continuation suspend(StanzaToComponent&);

const StanzaEvent& Continuation::event() const {
  return state_->event();
}

bool Continuation::claim() const {
  if (!state_->done.exchange(true)) return true;
  const StanzaEvent& e = state_->event();
  PLOG(Error, "router") << "a suspended " << e.stanza->name() << " from " << e.from.str()
                        << " was resumed twice; ignored";
  return false;
}

void Continuation::resume() const {
  if (!claim()) return;
  StanzaEvent& e = state_->event();
  try {
    Fired fired = state_->fire_rest();
    if (state_->from_client)
      e.server.router().finish_from_client(static_cast<const StanzaFromClient&>(e), fired);
    else
      e.server.router().finish_routed(e, fired);
  } catch (const std::exception& ex) {
    // Not a handler (Hooks catches those): the router's own steps, on the resuming thread.
    PLOG(Error, "router") << "routing a suspended " << e.stanza->name() << " from " << e.from.str()
                          << " failed: " << ex.what();
  }
  e.in_flight.reset();  // handled: the sender's ack may count it (XEP-0198)
}

void Continuation::fail() const {
  if (!claim()) return;
  StanzaEvent& e = state_->event();
  e.server.router().finish_routed(e, Fired{true, true});
  e.in_flight.reset();
}

}  // namespace parley
