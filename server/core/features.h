// What the server advertises: disco#info identities and features per scope (XEP-0030), and
// c2s stream features contributed by modules. Derived from registrations, never hand-kept.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/registration.h"
#include "xml/element.h"

namespace parley {

enum class FeatureScope { Host, Account };

struct Identity {
  std::string category, type, name;
};

// An entry of a host's disco#items (XEP-0030 §4.2): a service the server hosts (a MUC or
// upload component, ...). `host` empty = listed for every hosted domain.
struct DiscoItem {
  std::string host;
  std::string jid, node, name;
};

// When a stream feature is offered: before authentication or after (with bind).
enum class StreamStage { PreAuth, PostAuth };

class Features {
 public:
  [[nodiscard]] Registration add(FeatureScope scope, std::string var);
  [[nodiscard]] Registration add_identity(FeatureScope scope, Identity identity);
  [[nodiscard]] Registration add_stream_feature(StreamStage stage, xml::Element feature);
  // XEP-0128 extended info forms (e.g. contact addresses) for the host.
  [[nodiscard]] Registration add_extension(FeatureScope scope, xml::Element form);
  [[nodiscard]] Registration add_disco_item(DiscoItem item);

  std::vector<std::string> list(FeatureScope scope) const;  // sorted, unique
  std::vector<Identity> identities(FeatureScope scope) const;
  std::vector<xml::Element> stream_features(StreamStage stage) const;
  std::vector<xml::Element> extensions(FeatureScope scope) const;
  std::vector<DiscoItem> disco_items(std::string_view host) const;  // for one hosted domain

 private:
  template <class T>
  struct Item {
    uint64_t id;
    int scope;
    T value;
  };
  template <class T>
  Registration add_item(std::vector<Item<T>>& list, int scope, T value);
  mutable std::mutex mutex_;
  uint64_t next_id_ = 1;
  std::vector<Item<std::string>> features_;
  std::vector<Item<Identity>> identities_;
  std::vector<Item<xml::Element>> stream_features_;
  std::vector<Item<xml::Element>> extensions_;
  std::vector<Item<DiscoItem>> disco_items_;
};

}  // namespace parley
