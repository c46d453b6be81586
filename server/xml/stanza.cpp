// Stanza error replies and IQ results (RFC 6120 §8.2.3, §8.3).
#include "xml/stanza.h"

#include <array>
#include <stdexcept>
#include <utility>

namespace parley::stanza {

namespace {

struct ConditionType {
  std::string_view condition;
  ErrorType type;
};

// RFC 6120 §8.3.3: the error type each defined condition is usually sent with.
constexpr std::array<ConditionType, 22> kDefaultTypes{{
    {"bad-request", ErrorType::Modify},
    {"conflict", ErrorType::Cancel},
    {"feature-not-implemented", ErrorType::Cancel},
    {"forbidden", ErrorType::Auth},
    {"gone", ErrorType::Cancel},
    {"internal-server-error", ErrorType::Cancel},
    {"item-not-found", ErrorType::Cancel},
    {"jid-malformed", ErrorType::Modify},
    {"not-acceptable", ErrorType::Modify},
    {"not-allowed", ErrorType::Cancel},
    {"not-authorized", ErrorType::Auth},
    {"policy-violation", ErrorType::Modify},
    {"recipient-unavailable", ErrorType::Wait},
    {"redirect", ErrorType::Modify},
    {"registration-required", ErrorType::Auth},
    {"remote-server-not-found", ErrorType::Cancel},
    {"remote-server-timeout", ErrorType::Wait},
    {"resource-constraint", ErrorType::Wait},
    {"service-unavailable", ErrorType::Cancel},
    {"subscription-required", ErrorType::Auth},
    {"undefined-condition", ErrorType::Cancel},
    {"unexpected-request", ErrorType::Wait},
}};

// Same name, namespace and attributes, with to/from swapped (RFC 6120 §8.3.1: the error is
// returned to the sender) and the given type.
xml::Element reply_shell(const xml::Element& stanza, std::string_view type) {
  xml::Element reply(stanza.name(), stanza.xmlns());
  for (const xml::Attribute& a : stanza.attributes()) {
    if (a.name == "to" || a.name == "from" || a.name == "type") continue;
    reply.set(a.name, a.value);
  }
  if (const std::string* from = stanza.attr("from")) reply.set("to", *from);
  if (const std::string* to = stanza.attr("to")) reply.set("from", *to);
  reply.set("type", type);
  return reply;
}

}  // namespace

std::string_view to_string(ErrorType t) {
  switch (t) {
    case ErrorType::Auth:
      return "auth";
    case ErrorType::Cancel:
      return "cancel";
    case ErrorType::Continue:
      return "continue";
    case ErrorType::Modify:
      return "modify";
    case ErrorType::Wait:
      return "wait";
  }
  return "cancel";
}

ErrorType default_type(std::string_view condition) {
  for (const ConditionType& c : kDefaultTypes) {
    if (c.condition == condition) return c.type;
  }
  // Unknown conditions are not defined by RFC 6120; treat them like undefined-condition.
  return ErrorType::Cancel;
}

xml::Element error_reply(const xml::Element& stanza, std::string_view condition,
                         std::string_view text) {
  return error_reply(stanza, default_type(condition), condition, text);
}

xml::Element error_reply(const xml::Element& stanza, ErrorType type, std::string_view condition,
                         std::string_view text) {
  xml::Element reply = reply_shell(stanza, "error");
  // An IQ error must not carry the request's payload back (it may be large or private, and
  // RFC 6120 §8.3.1 makes including it optional); messages and presence keep theirs so the
  // sender can tell which one bounced.
  if (stanza.name() != "iq") {
    for (const xml::Node& n : stanza.nodes()) {
      if (n.element) {
        // An <error/> already present would make two; the new one is authoritative.
        if (n.element->name() == "error" && n.element->xmlns() == stanza.xmlns()) continue;
        reply.add(*n.element);
      } else {
        reply.add_text(n.text);
      }
    }
  }
  // RFC 6120 §8.3.2: <error type=...> in the stanza's namespace, the condition and optional
  // <text/> in urn:ietf:params:xml:ns:xmpp-stanzas.
  xml::Element& error = reply.add("error");
  error.set("type", to_string(type));
  error.add(std::string(condition), std::string(kStanzasNs));
  if (!text.empty()) {
    xml::Element& t = error.add("text", std::string(kStanzasNs));
    t.add_text(text);
  }
  return reply;
}

xml::Element iq_result(const xml::Element& iq) {
  return reply_shell(iq, "result");
}

xml::Element iq_result(const xml::Element& iq, xml::Element payload) {
  xml::Element reply = reply_shell(iq, "result");
  reply.add(std::move(payload));
  return reply;
}

bool is_error(const xml::Element& stanza) {
  return stanza.get("type") == "error";
}

Serialized::Serialized(const xml::Element& stanza, std::string_view stream_ns)
    : bytes_(stanza.str(stream_ns)), at_(1 + stanza.name().size()) {
  if (stanza.has("to")) throw std::invalid_argument("stanza::Serialized: the stanza has a 'to'");
}

std::string Serialized::addressed_to(std::string_view to) const {
  std::string out;
  out.reserve(bytes_.size() + to.size() + 16);
  out.append(bytes_, 0, at_);
  out += " to=\"";
  xml::escape_attr(out, to);
  out += '"';
  out.append(bytes_, at_, std::string::npos);
  return out;
}

}  // namespace parley::stanza
