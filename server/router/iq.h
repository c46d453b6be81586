// IQ dispatch by (payload namespace, payload name, type, scope) — DESIGN §4. An IQ nobody
// handles gets service-unavailable. Registered namespaces become disco#info features of their
// scope automatically unless registered with advertise=false.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/registration.h"
#include "jid/jid.h"
#include "router/session.h"
#include "xml/element.h"
#include "xml/stanza.h"

namespace parley {

class Server;

enum class IqType { Get, Set };
// Host: addressed to a hosted domain. Account: to some account's bare JID (including one's
// own). Self: to one's own account (no 'to', or to == the sender's bare JID) — roster, private.
enum class IqScope { Host, Account, Self };

// A request being answered. Copyable and thread-safe: reply from any thread, once.
class IqRequest {
 public:
  IqRequest(Server& server, std::shared_ptr<const xml::Element> stanza, Jid from, Jid to,
            SessionPtr origin);
  const xml::Element& stanza() const { return *stanza_; }
  // The single child element of the IQ (RFC 6120 §8.2.3); never null for get/set.
  const xml::Element& payload() const { return *payload_; }
  IqType type() const { return type_; }
  const Jid& from() const { return from_; }
  const Jid& to() const { return to_; }  // the bare account JID or the host, never empty
  const SessionPtr& origin() const { return origin_; }
  Server& server() const { return *server_; }

  void reply() const;  // empty result
  void reply(xml::Element payload) const;
  void error(std::string_view condition, std::string_view text = {}) const;
  void error(stanza::ErrorType type, std::string_view condition, std::string_view text = {}) const;
  // With an application-specific condition inside <error/> (RFC 6120 §8.3.3), e.g. XEP-0060's
  // <precondition-not-met xmlns='http://jabber.org/protocol/pubsub#errors'/>.
  void error(stanza::ErrorType type, std::string_view condition, xml::Element app_condition,
             std::string_view text = {}) const;
  // True once any copy of this request has been answered (later answers are dropped).
  bool answered() const { return answered_->load(); }

 private:
  bool claim() const;  // the first answer wins
  void send(xml::Element response) const;
  Server* server_;
  std::shared_ptr<const xml::Element> stanza_;
  const xml::Element* payload_;
  IqType type_;
  Jid from_, to_;
  SessionPtr origin_;
  std::shared_ptr<std::atomic<bool>> answered_;  // shared by copies: "reply once"
};

using IqHandler = std::function<void(const IqRequest&)>;

class IqRouter {
 public:
  [[nodiscard]] Registration add(std::string xmlns, std::string name, IqType type, IqScope scope,
                                 IqHandler handler, std::string owner = "core");
  // Finds the handler for a request; false when none matched (caller answers
  // service-unavailable). Handler exceptions become internal-server-error.
  bool dispatch(const IqRequest& request, IqScope scope) const;
  // Namespaces registered for a scope (Self handlers count as Account features).
  std::vector<std::string> namespaces(IqScope scope) const;

 private:
  struct Entry {
    uint64_t id;
    std::string xmlns, name;
    IqType type;
    IqScope scope;
    IqHandler handler;
    std::string owner;
  };
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t next_id_ = 1;
};

}  // namespace parley
