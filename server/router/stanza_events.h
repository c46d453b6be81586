// The events the router fires for every stanza (DESIGN §4). The router only classifies:
// kind (message / presence / iq) x target (this server's host, a bare JID, a full JID, a
// remote domain). The core's default behaviour is registered at priority::kDefault, so modules
// (offline storage, archive, carbons, blocking) compose around it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jid/jid.h"
#include "router/session.h"
#include "xml/element.h"

namespace parley {

class Server;

// Keeps a stanza a client sent "not yet handled" while any copy is alive (XEP-0198 acks only
// what is durably handled, DESIGN §6). A handler whose work on the stanza ends later, with a
// database commit, keeps a copy until then; the origin session counts the stanza as handled
// once the last copy is gone. Null when nobody waits (no stream management, server stanzas).
using InFlight = std::shared_ptr<const void>;

struct StanzaEvent {
  Server& server;
  std::shared_ptr<xml::Element> stanza;  // handlers may modify it before delivery
  Jid from;                              // stamped by the server, always a valid JID
  Jid to;                                // normalized destination (see Router::route)
  SessionPtr origin;                     // the local client session it came from, or null
  InFlight in_flight = {};               // copy it into work that must finish first
};

// Stanzas sent by a local client, before routing (blocking, carbons, rate limits). Stop = the
// handler took care of it (dropped, or replied with an error).
struct StanzaFromClient : StanzaEvent {
  static constexpr std::string_view kName = "stanza/from-client";
};

struct MessageToHost : StanzaEvent {
  static constexpr std::string_view kName = "message/host";
};
struct MessageToBare : StanzaEvent {
  static constexpr std::string_view kName = "message/bare";
};
struct MessageToFull : StanzaEvent {
  static constexpr std::string_view kName = "message/full";
};
struct PresenceToHost : StanzaEvent {
  static constexpr std::string_view kName = "presence/host";
};
struct PresenceToBare : StanzaEvent {
  static constexpr std::string_view kName = "presence/bare";
};
struct PresenceToFull : StanzaEvent {
  static constexpr std::string_view kName = "presence/full";
};
struct IqToHost : StanzaEvent {
  static constexpr std::string_view kName = "iq/host";
};
struct IqToBare : StanzaEvent {
  static constexpr std::string_view kName = "iq/bare";
};
struct IqToFull : StanzaEvent {
  static constexpr std::string_view kName = "iq/full";
};
// Destination domain is not hosted here. Without s2s the default bounces
// remote-server-not-found.
struct StanzaToRemote : StanzaEvent {
  static constexpr std::string_view kName = "stanza/remote";
};
// Destination domain is a service hosted here (router/components.h: the group chat service,
// ...). The default hands it to the component; a module may filter or stamp it first.
struct StanzaToComponent : StanzaEvent {
  static constexpr std::string_view kName = "stanza/component";
};

// An IQ received on a c2s stream before authentication (XEP-0077 registration). A handler that
// answers calls reply() and returns Stop; if nobody does, the session closes the stream with
// not-authorized (RFC 6120 §6.4.1: no stanzas before authentication).
struct UnauthenticatedIq {
  static constexpr std::string_view kName = "iq/unauthenticated";
  Server& server;
  std::shared_ptr<const xml::Element> stanza;
  std::string host;                               // the stream's 'to' domain
  std::string remote_address;                     // for rate limits
  bool secure;                                    // TLS is active
  std::function<void(xml::Element reply)> reply;  // thread-safe, once
};

// A stanza about to be sent to a local client session, on that session's strand (so handlers
// for one session never run concurrently). Stop = a handler holds it back (XEP-0352 client
// state indication) and sends it later with Session::deliver; a handler may also release
// stanzas it held, which are sent first, in order.
struct StanzaToClient {
  static constexpr std::string_view kName = "stanza/to-client";
  Server& server;
  SessionPtr session;
  std::shared_ptr<const xml::Element> stanza;  // null for pre-serialized fan-out bytes
  std::vector<std::shared_ptr<const xml::Element>> release = {};
  // `stanza` is the form shared by every recipient of a fan-out (Session::deliver_serialized):
  // it has no 'to'. A handler that keeps it to send later takes addressed() instead.
  bool shared = false;

  // The stanza as this session gets it: `stanza`, or a copy with the session's 'to'.
  std::shared_ptr<const xml::Element> addressed() const {
    if (!shared || !stanza) return stanza;
    auto copy = std::make_shared<xml::Element>(*stanza);
    copy->set("to", session->jid().str());
    return copy;
  }
};

// A top-level element that is not a stanza on a bound client stream (XEP-0352 <active/> and
// <inactive/>), on the session's strand. A handler that knows it returns Stop; if nobody does
// the stream ends with unsupported-stanza-type (RFC 6120 §4.9.3.21).
struct ClientNonza {
  static constexpr std::string_view kName = "c2s/nonza";
  Server& server;
  SessionPtr session;
  const xml::Element& element;
};

// A message of type chat or normal that a session took but the client never acknowledged,
// when the session ended without resumption (XEP-0198 §4). The session is no longer
// registered. Handlers deliver it elsewhere (offline storage at priority::kStore) or drop what
// is a copy (carbons, archive results); the default delivers it to the account's other
// resources by the RFC 6121 §8.5.2 rules, skipping `skip` (sessions that already have a copy),
// and otherwise bounces recipient-unavailable to the sender.
struct MessageUndelivered {
  static constexpr std::string_view kName = "message/undelivered";
  Server& server;
  SessionPtr session;
  std::shared_ptr<const xml::Element> stanza;
  std::vector<SessionPtr> skip = {};
};

// The server is shutting down (SIGTERM, Server::stop()), before any client is told: what a
// module sends clients now still reaches them (a room's unavailable with status 332, XEP-0045
// §9 of the status code registry). A handler that sends from another strand copies `hold`
// into that work; clients are disconnected once every copy is gone (or after a bound).
struct ServerStopping {
  static constexpr std::string_view kName = "server/stopping";
  Server& server;
  std::shared_ptr<const void> hold;
};

// Session lifecycle.
struct SessionBound {
  static constexpr std::string_view kName = "session/bound";
  Server& server;
  SessionPtr session;
};
// A session went on over a new connection (XEP-0198 §5 resumption): `session` took over
// `previous`'s state — presence, feature state, unacknowledged stanzas — and stays bound and
// available; no SessionBound or SessionClosed is fired for either.
struct SessionResumed {
  static constexpr std::string_view kName = "session/resumed";
  Server& server;
  SessionPtr session;
  SessionPtr previous;
};
// The session sent available presence (RFC 6121 §4.2, §4.4), after IM processed it. Fired for
// every available presence, `initial` for the first one; offline storage (XEP-0160) delivers
// once the session's priority is non-negative.
struct SessionAvailable {
  static constexpr std::string_view kName = "session/available";
  Server& server;
  SessionPtr session;
  bool initial;
};
// After the session left the registry. `was_available`: it had sent available presence.
struct SessionClosed {
  static constexpr std::string_view kName = "session/closed";
  Server& server;
  SessionPtr session;
  bool was_available;
};
// An account was deleted (parleyctl, in-band unregistration); stores drop its data.
struct AccountDeleted {
  static constexpr std::string_view kName = "account/deleted";
  Server& server;
  Jid account;
};

}  // namespace parley
