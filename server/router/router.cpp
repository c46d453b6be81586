// Classification (RFC 6120 §10, RFC 6121 §8): kind x target -> one typed event. The behaviour
// behind the events is in default_handlers.cpp (the core's defaults) and in im/.
#include "router/router.h"

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

  if (!local) {
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

}  // namespace parley
