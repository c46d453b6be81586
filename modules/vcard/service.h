// What the vcard module offers other modules (DESIGN §5 services) and the event it fires
// (DESIGN §4). A module that reads or writes vCards on an account's behalf (XEP-0398 avatar
// conversion) lists "vcard" in its depends() and takes ctx.service<vcard::Service>(); a module
// that only watches includes this header and registers ctx.on<vcard::VCardChanged>(...).
//
// Every call runs on the account's database worker (Database::post keyed by the bare JID),
// after the vCard work queued for that account before it, so reads see earlier writes and the
// callbacks of one account come in the order of the calls.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "jid/jid.h"
#include "xml/element.h"

namespace parley {
class Server;
}

namespace parley::vcard {

inline constexpr std::string_view kNs = "vcard-temp";

// The outcome of a call: empty = done; otherwise a stanza error condition ("not-acceptable"
// for a vCard over the module's max_bytes, "internal-server-error" when storage failed).
using Error = std::string;

class Service {
 public:
  virtual ~Service() = default;
  // The account's stored vCard; null when it has none. `done` runs on the account's worker.
  virtual void get(const Jid& account,
                   std::function<void(Error, std::shared_ptr<const xml::Element>)> done) = 0;
  // Replaces the whole vCard, as the owner's set does (XEP-0054 §3.2; an element without
  // children removes it), and fires VCardChanged with `by_client` false.
  virtual void set(const Jid& account, xml::Element vcard, std::function<void(Error)> done) = 0;
  // Read-modify-write in one step on the account's worker, so that no owner's set slips in
  // between: `change` gets the stored vCard (an empty <vCard/> when there is none) and returns
  // whether it changed it; only then is it stored (and VCardChanged fired, not by_client).
  virtual void update(const Jid& account, std::function<bool(xml::Element&)> change,
                      std::function<void(Error)> done) = 0;
};

// An account's vCard was stored or removed. Fired on the account's database worker after the
// write, before the owner's set is answered. Handlers must not block. `by_client`: the owner's
// client set it (not Service::set / update).
struct VCardChanged {
  static constexpr std::string_view kName = "vcard/changed";
  Server& server;
  Jid account;
  std::shared_ptr<const xml::Element> vcard;  // as stored; null when removed
  bool by_client;
};

}  // namespace parley::vcard
