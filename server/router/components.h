// Services this server hosts on domains of their own, beside the user hosts: the group chat
// service on groups.example.org, the upload service on upload.example.org (XEP-0045 §4.1,
// XEP-0363 §2). A module registers its domain with ModuleContext::component(); from then on
// every stanza addressed to that domain or to a JID at it is fired as StanzaToComponent, whose
// default handler hands it to the component. The domain is not a user host: it has no
// accounts, and it is not a remote domain either (nothing is sent to s2s for it).
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/registration.h"

namespace parley {

struct StanzaToComponent;

class Components {
 public:
  using Handler = std::function<void(StanzaToComponent&)>;

  // Hosts `domain` (a normalized domainpart) until the registration is released. A domain
  // that is already a user host or another component is a std::invalid_argument.
  [[nodiscard]] Registration add(std::string domain, Handler handler);
  // The handler of the component at `domain`, or null.
  std::shared_ptr<const Handler> find(std::string_view domain) const;
  bool has(std::string_view domain) const { return find(domain) != nullptr; }
  std::vector<std::string> domains() const;

 private:
  mutable std::shared_mutex mutex_;
  std::map<std::string, std::shared_ptr<const Handler>, std::less<>> handlers_;
};

}  // namespace parley
