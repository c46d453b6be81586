#include "policy.h"

#include <algorithm>

#include "xml/stanza.h"

namespace parley::mam {

namespace {

constexpr std::string_view kHintsNs = "urn:xmpp:hints";
constexpr std::string_view kMarkersNs = "urn:xmpp:chat-markers:0";

// End-to-end encrypted payloads: the message is in them, and a client may send no <body/>
// fallback (OMEMO XEP-0384 legacy and :2, OpenPGP XEP-0373, legacy XEP-0027).
bool encrypted(const xml::Element& c) {
  const auto& ns = c.xmlns();
  return (c.name() == "encrypted" &&
          (ns == "eu.siacs.conversations.axolotl" || ns == "urn:xmpp:omemo:2")) ||
         (c.name() == "openpgp" && ns == "urn:xmpp:openpgp:0") ||
         (c.name() == "x" && ns == "jabber:x:encrypted");
}

bool listed(const std::vector<std::string>& list, const Jid& with) {
  return std::any_of(list.begin(), list.end(),
                     [&](const std::string& j) { return j == with.str() || j == with.bare_str(); });
}

}  // namespace

bool worth_archiving(const xml::Element& m) {
  if (m.name() != "message") return false;
  std::string_view type = m.get("type");
  if (!type.empty() && type != "chat" && type != "normal") return false;
  if (m.child("no-store", kHintsNs) || m.child("no-permanent-store", kHintsNs)) return false;
  if (m.child("store", kHintsNs)) return true;
  for (const auto& node : m.nodes()) {
    if (node.is_text()) continue;
    const xml::Element& c = *node.element;
    if (c.name() == "body" && (c.xmlns().empty() || c.xmlns() == stanza::kClientNs)) return true;
    if (encrypted(c)) return true;
    // <markable/> alone asks for a marker; it travels with a body anyway.
    if (c.xmlns() == kMarkersNs && c.name() != "markable") return true;
  }
  return false;
}

Verdict decide(const Prefs& prefs, const Jid& with) {
  if (listed(prefs.never, with)) return Verdict::Skip;
  if (listed(prefs.always, with)) return Verdict::Archive;
  switch (prefs.default_mode) {
    case Mode::Always:
      return Verdict::Archive;
    case Mode::Never:
      return Verdict::Skip;
    case Mode::Roster:
      return Verdict::AskRoster;
  }
  return Verdict::Archive;
}

}  // namespace parley::mam
