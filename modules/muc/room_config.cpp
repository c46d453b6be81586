// XEP-0045 §10.2 muc#roomconfig form <-> RoomSettings.
#include "room_config.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace parley::muc {
namespace {

namespace df = xep::dataforms;

constexpr const char* kPrefix = "muc#roomconfig_";

std::string var(std::string_view name) {
  return std::string(kPrefix) + std::string(name);
}

void boolean(df::Form& f, std::string_view name, std::string label, bool value) {
  auto& field = f.add(var(name), "boolean", {value ? "1" : "0"});
  field.label = std::move(label);
}

void text(df::Form& f, std::string_view name, std::string label, std::string value,
          std::string type = "text-single") {
  auto& field = f.add(var(name), std::move(type), {std::move(value)});
  field.label = std::move(label);
}

std::optional<bool> parse_bool(std::string_view v) {
  if (v == "1" || v == "true") return true;
  if (v == "0" || v == "false") return false;
  return std::nullopt;
}

std::optional<int> parse_int(std::string_view v) {
  int out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < 0) return std::nullopt;
  return out;
}

std::string escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string unescape(std::string_view v) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      ++i;
      out += v[i] == 'n' ? '\n' : v[i];
    } else {
      out += v[i];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> to_strings(const PresenceBroadcast& b) {
  std::vector<std::string> out;
  if (b.moderator) out.emplace_back("moderator");
  if (b.participant) out.emplace_back("participant");
  if (b.visitor) out.emplace_back("visitor");
  return out;
}

std::optional<PresenceBroadcast> presence_broadcast_from(const std::vector<std::string>& roles) {
  PresenceBroadcast b{false, false, false};
  for (const auto& r : roles) {
    if (r == "moderator")
      b.moderator = true;
    else if (r == "participant")
      b.participant = true;
    else if (r == "visitor")
      b.visitor = true;
    else
      return std::nullopt;
  }
  return b;
}

df::Form to_form(const RoomSettings& s, int max_history) {
  df::Form f = df::with_form_type(df::FormType::Form, std::string(kRoomConfigNs));
  f.title = "Room configuration";
  text(f, "roomname", "Name", s.name);
  text(f, "roomdesc", "Description", s.description);
  boolean(f, "persistentroom", "Persistent (kept when empty)", s.persistent);
  boolean(f, "publicroom", "Listed in the directory", s.is_public);
  boolean(f, "membersonly", "Members only", s.members_only);
  boolean(f, "moderatedroom", "Moderated (visitors need voice)", s.moderated);
  boolean(f, "passwordprotectedroom", "Password protected", s.password_protected);
  text(f, "roomsecret", "Password", s.password, "text-private");
  {
    auto& field = f.add(var("maxusers"), "list-single",
                        {s.max_users == 0 ? "none" : std::to_string(s.max_users)});
    field.label = "Maximum occupants";
    for (const char* v : {"10", "20", "30", "50", "100", "none"}) field.options.push_back({"", v});
    if (s.max_users != 0 &&
        field.options.end() == std::find_if(field.options.begin(), field.options.end(),
                                            [&](auto& o) { return o.value == field.values[0]; }))
      field.options.insert(field.options.begin(), {"", field.values[0]});
  }
  {
    auto& field =
        f.add(var("whois"), "list-single", {s.whois == Whois::Anyone ? "anyone" : "moderators"});
    field.label = "Who may see real JIDs";
    field.options = {{"Moderators", "moderators"}, {"Anyone", "anyone"}};
  }
  text(f, "historylength", "Messages of history (at most " + std::to_string(max_history) + ")",
       std::to_string(s.history_length));
  boolean(f, "allowinvites", "Occupants may invite", s.allow_invites);
  {
    auto& field = f.add(var("allowpm"), "list-single", {s.allow_pm});
    field.label = "Who may send private messages";
    field.options = {{"Anyone", "anyone"},
                     {"Participants", "participants"},
                     {"Moderators", "moderators"},
                     {"Nobody", "none"}};
  }
  boolean(f, "enablelogging", "Archived", s.logging);
  boolean(f, "changesubject", "Occupants may change the subject", s.change_subject);
  {
    auto& field = f.add(var("presencebroadcast"), "list-multi", to_strings(s.presence_broadcast));
    field.label = "Roles whose presence is broadcast";
    field.options = {
        {"Moderator", "moderator"}, {"Participant", "participant"}, {"Visitor", "visitor"}};
  }
  return f;
}

xep::Parsed<RoomSettings> apply_form(const df::Form& form, RoomSettings s, int max_history) {
  if (form.type != df::FormType::Submit) return xep::ParseError{"the form must be of type submit"};
  auto ft = form.form_type();
  if (!ft.empty() && ft != kRoomConfigNs) return xep::ParseError{"unknown FORM_TYPE " + ft};
  for (const auto& field : form.fields) {
    if (field.var.rfind(kPrefix, 0) != 0) continue;
    std::string_view name = std::string_view(field.var).substr(std::string_view(kPrefix).size());
    const std::string& v = field.value();
    auto flag = [&](bool& out) -> std::optional<xep::ParseError> {
      auto b = parse_bool(v);
      if (!b) return xep::ParseError{field.var + ": expected a boolean"};
      out = *b;
      return std::nullopt;
    };
    std::optional<xep::ParseError> err;
    if (name == "roomname")
      s.name = v;
    else if (name == "roomdesc")
      s.description = v;
    else if (name == "persistentroom")
      err = flag(s.persistent);
    else if (name == "publicroom")
      err = flag(s.is_public);
    else if (name == "membersonly")
      err = flag(s.members_only);
    else if (name == "moderatedroom")
      err = flag(s.moderated);
    else if (name == "passwordprotectedroom")
      err = flag(s.password_protected);
    else if (name == "roomsecret")
      s.password = v;
    else if (name == "allowinvites")
      err = flag(s.allow_invites);
    else if (name == "enablelogging")
      err = flag(s.logging);
    else if (name == "changesubject")
      err = flag(s.change_subject);
    else if (name == "maxusers") {
      if (v == "none" || v.empty()) {
        s.max_users = 0;
      } else if (auto n = parse_int(v)) {
        s.max_users = *n;
      } else {
        err = xep::ParseError{field.var + ": expected a number or none"};
      }
    } else if (name == "whois") {
      if (v == "anyone")
        s.whois = Whois::Anyone;
      else if (v == "moderators")
        s.whois = Whois::Moderators;
      else
        err = xep::ParseError{field.var + ": expected moderators or anyone"};
    } else if (name == "historylength") {
      auto n = parse_int(v);
      if (!n)
        err = xep::ParseError{field.var + ": expected a number"};
      else
        s.history_length = std::min(*n, max_history);
    } else if (name == "presencebroadcast") {
      // list-multi: every value counts, none at all = nobody's presence is broadcast.
      if (auto b = presence_broadcast_from(field.values))
        s.presence_broadcast = *b;
      else
        err = xep::ParseError{field.var + ": expected moderator, participant or visitor"};
    } else if (name == "allowpm") {
      if (v == "anyone" || v == "participants" || v == "moderators" || v == "none")
        s.allow_pm = v;
      else
        err = xep::ParseError{field.var + ": expected anyone, participants, moderators or none"};
    }
    if (err) return *err;
  }
  // §10.2: a password-protected room needs a password.
  if (s.password_protected && s.password.empty())
    return xep::ParseError{"a password-protected room needs muc#roomconfig_roomsecret"};
  if (!s.password_protected) s.password.clear();
  return s;
}

std::string serialize(const RoomSettings& s) {
  std::string out = "v=1\n";
  auto put = [&](std::string_view k, std::string_view v) {
    out += k;
    out += '=';
    out += escape(v);
    out += '\n';
  };
  auto b = [](bool v) { return v ? "1" : "0"; };
  put("name", s.name);
  put("description", s.description);
  put("persistent", b(s.persistent));
  put("public", b(s.is_public));
  put("members_only", b(s.members_only));
  put("moderated", b(s.moderated));
  put("password_protected", b(s.password_protected));
  put("password", s.password);
  put("max_users", std::to_string(s.max_users));
  put("whois", s.whois == Whois::Anyone ? "anyone" : "moderators");
  put("history_length", std::to_string(s.history_length));
  put("allow_invites", b(s.allow_invites));
  put("allow_pm", s.allow_pm);
  put("logging", b(s.logging));
  put("change_subject", b(s.change_subject));
  std::string roles;
  for (const auto& r : to_strings(s.presence_broadcast)) roles += (roles.empty() ? "" : ",") + r;
  put("presence_broadcast", roles);
  return out;
}

std::optional<RoomSettings> deserialize(std::string_view text) {
  if (text.rfind("v=1\n", 0) != 0) return std::nullopt;
  RoomSettings s;
  while (!text.empty()) {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    auto eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = line.substr(0, eq);
    std::string v = unescape(line.substr(eq + 1));
    bool on = v == "1";
    if (k == "name")
      s.name = v;
    else if (k == "description")
      s.description = v;
    else if (k == "persistent")
      s.persistent = on;
    else if (k == "public")
      s.is_public = on;
    else if (k == "members_only")
      s.members_only = on;
    else if (k == "moderated")
      s.moderated = on;
    else if (k == "password_protected")
      s.password_protected = on;
    else if (k == "password")
      s.password = v;
    else if (k == "max_users")
      s.max_users = parse_int(v).value_or(0);
    else if (k == "whois")
      s.whois = v == "anyone" ? Whois::Anyone : Whois::Moderators;
    else if (k == "history_length")
      s.history_length = parse_int(v).value_or(20);
    else if (k == "allow_invites")
      s.allow_invites = on;
    else if (k == "allow_pm")
      s.allow_pm = v;
    else if (k == "logging")
      s.logging = on;
    else if (k == "change_subject")
      s.change_subject = on;
    else if (k == "presence_broadcast") {  // absent in rows written before it: all roles
      std::vector<std::string> roles;
      for (size_t at = 0; at < v.size();) {
        size_t comma = std::min(v.find(',', at), v.size());
        if (comma > at) roles.push_back(v.substr(at, comma - at));
        at = comma + 1;
      }
      s.presence_broadcast = presence_broadcast_from(roles).value_or(PresenceBroadcast{});
    }
  }
  return s;
}

}  // namespace parley::muc
