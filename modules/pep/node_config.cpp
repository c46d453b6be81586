#include "node_config.h"

#include <algorithm>
#include <charconv>

#include "xep/stored_element.h"

namespace parley::pep {
namespace {

namespace df = xep::dataforms;

constexpr std::string_view kAccess = "pubsub#access_model";
constexpr std::string_view kPersist = "pubsub#persist_items";
constexpr std::string_view kMaxItems = "pubsub#max_items";
constexpr std::string_view kSendLast = "pubsub#send_last_published_item";
constexpr std::string_view kDeliverNotifications = "pubsub#deliver_notifications";
constexpr std::string_view kDeliverPayloads = "pubsub#deliver_payloads";
constexpr std::string_view kNotifyRetract = "pubsub#notify_retract";
constexpr std::string_view kNotifyDelete = "pubsub#notify_delete";
constexpr std::string_view kRosterGroups = "pubsub#roster_groups_allowed";
constexpr std::string_view kTitle = "pubsub#title";
// Accepted with the only value PEP has (the owner alone publishes; headline notifications).
constexpr std::string_view kPublishModel = "pubsub#publish_model";
constexpr std::string_view kNotificationType = "pubsub#notification_type";

std::string_view text(AccessModel a) {
  switch (a) {
    case AccessModel::Presence:
      return "presence";
    case AccessModel::Open:
      return "open";
    case AccessModel::Roster:
      return "roster";
    case AccessModel::Whitelist:
      return "whitelist";
  }
  return "presence";
}

std::optional<AccessModel> access_of(std::string_view s) {
  if (s == "presence") return AccessModel::Presence;
  if (s == "open") return AccessModel::Open;
  if (s == "roster") return AccessModel::Roster;
  if (s == "whitelist") return AccessModel::Whitelist;
  return std::nullopt;
}

std::string_view text(SendLast s) {
  switch (s) {
    case SendLast::Never:
      return "never";
    case SendLast::OnSub:
      return "on_sub";
    case SendLast::OnSubAndPresence:
      return "on_sub_and_presence";
  }
  return "never";
}

std::optional<SendLast> send_last_of(std::string_view s) {
  if (s == "never") return SendLast::Never;
  if (s == "on_sub") return SendLast::OnSub;
  if (s == "on_sub_and_presence") return SendLast::OnSubAndPresence;
  return std::nullopt;
}

// XEP-0004 §3.3 boolean: "0"/"false", "1"/"true".
std::optional<bool> boolean_of(std::string_view s) {
  if (s == "1" || s == "true") return true;
  if (s == "0" || s == "false") return false;
  return std::nullopt;
}

// A number of items, or "max" (XEP-0060 §7.1.5 as XEP-0384 and XEP-0402 use it).
std::optional<int64_t> max_items_of(std::string_view s, int64_t limit) {
  if (s == "max") return limit;
  int64_t n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < 1) return std::nullopt;
  return n;
}

const std::string& single(const std::vector<std::string>& values) {
  static const std::string none;
  return values.empty() ? none : values.front();
}

df::Field& list_single(df::Form& form, std::string_view var, std::string_view value,
                       std::initializer_list<std::string_view> options, std::string label) {
  auto& f = form.add(std::string(var), "list-single", {std::string(value)});
  f.label = std::move(label);
  for (auto o : options) f.options.push_back({{}, std::string(o)});
  return f;
}

df::Field& boolean(df::Form& form, std::string_view var, bool value, std::string label) {
  auto& f = form.add(std::string(var), "boolean", {value ? "1" : "0"});
  f.label = std::move(label);
  return f;
}

}  // namespace

std::string serialize(const NodeConfig& config) {
  // The form itself: escaping and lists (roster groups) come for free, and a stored node reads
  // back through the same code as a submitted form.
  auto form = config_form(config, config.max_items);
  form.type = df::FormType::Submit;
  return xep::store_element(df::to_element(form));
}

NodeConfig deserialize(const std::string& text) {
  NodeConfig config;
  auto element = xep::load_element(text);
  if (!element) return config;
  auto form = df::parse(*element);
  if (!form) return config;
  // The stored max_items is the node's own; no limit applies when reading it back.
  NodeConfig parsed = config;
  if (!apply(fields_of(*form), parsed, INT64_MAX)) return parsed;
  return config;
}

df::Form config_form(const NodeConfig& c, int64_t max_items_limit) {
  auto form = df::with_form_type(df::FormType::Form, std::string(kNodeConfigForm));
  form.add(std::string(kTitle), "text-single", {c.title}).label = "A friendly name for the node";
  list_single(form, kAccess, text(c.access), {"open", "presence", "roster", "whitelist"},
              "Who may subscribe and retrieve items");
  auto& groups = form.add(std::string(kRosterGroups), "list-multi", c.roster_groups);
  groups.label = "Roster groups allowed to subscribe (access model 'roster')";
  boolean(form, kPersist, c.persist_items, "Persist items to storage");
  auto& max = form.add(std::string(kMaxItems), "text-single", {std::to_string(c.max_items)});
  max.label = "Max number of items to persist (at most " + std::to_string(max_items_limit) + ")";
  list_single(form, kSendLast, text(c.send_last), {"never", "on_sub", "on_sub_and_presence"},
              "When to send the last published item");
  boolean(form, kDeliverNotifications, c.deliver_notifications, "Deliver event notifications");
  boolean(form, kDeliverPayloads, c.deliver_payloads, "Deliver payloads with notifications");
  boolean(form, kNotifyRetract, c.notify_retract, "Notify subscribers when items are removed");
  boolean(form, kNotifyDelete, c.notify_delete, "Notify subscribers when the node is deleted");
  list_single(form, kPublishModel, "publishers", {"publishers"}, "Who may publish");
  list_single(form, kNotificationType, "headline", {"headline"}, "Notification message type");
  return form;
}

std::optional<std::string> apply(const Options& fields, NodeConfig& config,
                                 int64_t max_items_limit) {
  NodeConfig c = config;
  for (const auto& [var, values] : fields) {
    if (var == "FORM_TYPE" || !var.starts_with("pubsub#")) continue;
    const std::string& v = single(values);
    auto flag = [&](bool& out) -> bool {
      auto b = boolean_of(v);
      if (b) out = *b;
      return b.has_value();
    };
    bool ok = true;
    if (var == kAccess) {
      auto a = access_of(v);
      if ((ok = a.has_value())) c.access = *a;
    } else if (var == kPersist) {
      ok = flag(c.persist_items);
    } else if (var == kMaxItems) {
      auto n = max_items_of(v, max_items_limit);
      if (n && *n > max_items_limit)
        return "pubsub#max_items: at most " + std::to_string(max_items_limit);
      if ((ok = n.has_value())) c.max_items = *n;
    } else if (var == kSendLast) {
      auto s = send_last_of(v);
      if ((ok = s.has_value())) c.send_last = *s;
    } else if (var == kDeliverNotifications) {
      ok = flag(c.deliver_notifications);
    } else if (var == kDeliverPayloads) {
      ok = flag(c.deliver_payloads);
    } else if (var == kNotifyRetract) {
      ok = flag(c.notify_retract);
    } else if (var == kNotifyDelete) {
      ok = flag(c.notify_delete);
    } else if (var == kRosterGroups) {
      c.roster_groups = values;
    } else if (var == kTitle) {
      c.title = v;
    } else if (var == kPublishModel) {
      ok = v == "publishers";
    } else if (var == kNotificationType) {
      ok = v == "headline";
    } else {
      return "unsupported field " + var;
    }
    if (!ok) return "bad value for " + var + ": '" + v + "'";
  }
  config = std::move(c);
  return std::nullopt;
}

std::optional<std::string> unmet_precondition(const Options& fields, const NodeConfig& config,
                                              int64_t max_items_limit) {
  NodeConfig wanted = config;
  if (auto error = apply(fields, wanted, max_items_limit)) return error;
  for (const auto& [var, values] : fields) {
    if (var == "FORM_TYPE" || !var.starts_with("pubsub#")) continue;
    // Compare the one setting this field names: apply it alone to the node's settings.
    NodeConfig one = config;
    apply({{var, values}}, one, max_items_limit);
    if (!(one == config)) return var;
  }
  return std::nullopt;
}

Options fields_of(const df::Form& form) {
  Options out;
  for (const auto& f : form.fields)
    if (!f.var.empty()) out[f.var] = f.values;
  return out;
}

}  // namespace parley::pep
