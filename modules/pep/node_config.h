// A PEP node's settings (XEP-0060 §16.4.3 pubsub#node_config, the subset XEP-0163 needs), the
// configuration form that shows and changes them (§8.2), and publish-options (§7.1.5), which
// set them on a node created by the publish and are preconditions on a node that exists.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "modules/pep/service.h"
#include "xep/dataforms.h"

namespace parley::pep {

enum class AccessModel { Presence, Open, Roster, Whitelist };
enum class SendLast { Never, OnSub, OnSubAndPresence };

struct NodeConfig {
  AccessModel access = AccessModel::Presence;
  bool persist_items = true;
  int64_t max_items = 1;
  SendLast send_last = SendLast::OnSubAndPresence;
  bool deliver_notifications = true;
  bool deliver_payloads = true;
  bool notify_retract = true;
  bool notify_delete = true;
  std::vector<std::string> roster_groups;  // pubsub#roster_groups_allowed
  std::string title;
  friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

inline constexpr std::string_view kNodeConfigForm = "http://jabber.org/protocol/pubsub#node_config";
inline constexpr std::string_view kPublishOptionsForm =
    "http://jabber.org/protocol/pubsub#publish-options";

// The settings as stored (PubsubStore's opaque config), and back. A stored text that does not
// read (an older or damaged row) gives the defaults for what is missing.
std::string serialize(const NodeConfig& config);
NodeConfig deserialize(const std::string& text);

// The node_config form (type 'form') with the current values; `max_items_limit` is the largest
// max_items the server allows (what "max" means).
xep::dataforms::Form config_form(const NodeConfig& config, int64_t max_items_limit);

// Applies the fields of a submitted node_config or publish-options form to `config`. FORM_TYPE
// and fields outside pubsub# are ignored; an unknown pubsub# field or a value that is not
// allowed gives the reason (nothing applied then).
std::optional<std::string> apply(const Options& fields, NodeConfig& config,
                                 int64_t max_items_limit);

// publish-options on an existing node (§7.1.5): nullopt when every field matches the node's
// settings, else the first field that does not.
std::optional<std::string> unmet_precondition(const Options& fields, const NodeConfig& config,
                                              int64_t max_items_limit);

// The fields of a submitted form (FORM_TYPE included), by var.
Options fields_of(const xep::dataforms::Form& form);

}  // namespace parley::pep
