#include "protocol.h"

#include <chrono>
#include <set>

#include "jid/jid.h"
#include "xep/dataforms.h"
#include "xep/delay.h"
#include "xep/forward.h"
#include "xep/rsm.h"

namespace parley::mam {

namespace {

namespace df = xep::dataforms;

RequestError bad_request(std::string text) {
  return {"bad-request", std::move(text)};
}

xep::SysTime at_ms(int64_t ms) {
  return xep::SysTime(
      std::chrono::duration_cast<xep::SysTime::duration>(std::chrono::milliseconds(ms)));
}

int64_t to_ms(xep::SysTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// An id list longer than a page could not be returned anyway.
constexpr size_t kMaxIds = 1000;

std::optional<RequestError> apply_form(const df::Form& form, Query& q) {
  if (form.type != df::FormType::Submit) return bad_request("the query form must be a submission");
  const bool extended = q.ns == kNs2;
  for (const auto& f : form.fields) {
    if (f.var == "FORM_TYPE") {
      // §4.1: FORM_TYPE is the query's namespace.
      if (f.value() != q.ns) return bad_request("FORM_TYPE must be " + q.ns);
    } else if (f.var == "with") {
      if (f.value().empty()) continue;
      auto j = Jid::parse(f.value());
      if (!j) return RequestError{"jid-malformed", "'with' is not a JID"};
      q.filter.with = j->bare().str();
      // §4.1.1: a full JID matches that resource only; a bare one every resource.
      if (j->has_resource()) q.filter.with_resource = std::string(j->resource());
    } else if (f.var == "start" || f.var == "end") {
      if (f.value().empty()) continue;
      auto t = xep::parse_datetime(f.value());
      if (!t) return bad_request("'" + f.var + "' is not an XEP-0082 DateTime");
      (f.var == "start" ? q.filter.start : q.filter.end) = to_ms(*t);
    } else if (extended && (f.var == "after-id" || f.var == "before-id")) {
      if (f.value().empty()) continue;
      (f.var == "after-id" ? q.filter.after_id : q.filter.before_id) = f.value();
    } else if (extended && f.var == "ids") {
      if (f.values.size() > kMaxIds) return bad_request("too many ids");
      for (const auto& id : f.values)
        if (!id.empty()) q.filter.ids.push_back(id);
    } else if (extended && f.var == "include-groupchat") {
      // §4.1.4: understood; this archive holds no groupchat messages, so either value gives
      // the same results.
      const std::string& v = f.value();
      if (!v.empty() && v != "true" && v != "false" && v != "1" && v != "0")
        return bad_request("'include-groupchat' is a boolean");
    } else {
      return RequestError{"feature-not-implemented", "unknown field '" + f.var + "'"};
    }
  }
  return std::nullopt;
}

}  // namespace

std::variant<Query, RequestError> parse_query(const xml::Element& query, PageLimits limits) {
  Query q;
  q.ns = query.xmlns();
  q.queryid = query.get("queryid");
  q.page.max = limits.default_max;
  for (const auto& node : query.nodes()) {
    if (node.is_text()) continue;
    const xml::Element& c = *node.element;
    if (c.name() == "x" && c.xmlns() == df::kNs) {
      auto form = df::parse(c);
      if (!form) return bad_request(form.error());
      if (auto error = apply_form(*form, q)) return *error;
    } else if (c.name() == "set" && c.xmlns() == xep::rsm::kNs) {
      auto set = xep::rsm::parse_request(c);
      if (!set) return bad_request(set.error());
      // §4.3.1: the server limits a page whatever the client asked for.
      if (set->max) q.page.max = std::min(*set->max, limits.max);
      q.page.after = set->after;
      q.page.before = set->before;
      q.page.index = set->index;
    } else if (c.name() == "flip-page" && c.xmlns() == kNs2) {
      q.flip = true;
    }
    // Anything else is not ours to refuse.
  }
  return q;
}

xml::Element query_form(std::string_view ns) {
  df::Form form = df::with_form_type(df::FormType::Form, std::string(ns));
  form.add("with", "jid-single");
  form.add("start", "text-single");
  form.add("end", "text-single");
  if (ns == kNs2) {
    form.add("before-id", "text-single");
    form.add("after-id", "text-single");
    // §4.1.5: 'ids' is open to any value (XEP-0122 <open/>), its options are not listed.
    df::Field& ids = form.add("ids", "list-multi");
    xml::Element validate("validate", "http://jabber.org/protocol/xdata-validate");
    validate.set("datatype", "xs:string");
    validate.add("open");
    ids.extensions.push_back(std::move(validate));
    form.add("include-groupchat", "boolean");
  }
  xml::Element out("query", std::string(ns));
  out.add(df::to_element(form));
  return out;
}

xml::Element result_message(const Query& q, const ArchivedMessage& m, const xml::Element& stored,
                            const std::string& archive, const std::string& requester) {
  xml::Element message("message", "jabber:client");
  message.set("from", archive).set("to", requester);
  auto& result = message.add("result", q.ns);
  if (!q.queryid.empty()) result.set("queryid", q.queryid);
  result.set("id", m.id);
  // §4.2: the delay stamp is when the archive received it.
  xml::Element delay = xep::delay_element("", at_ms(m.timestamp));
  result.add(xep::forwarded(stored, &delay));
  return message;
}

xml::Element fin(const Query& q, const Page& page) {
  xml::Element out("fin", q.ns);
  if (q.ns == kNs0 && !q.queryid.empty()) out.set("queryid", q.queryid);
  out.set("complete", page.complete ? "true" : "false");
  xep::rsm::Response set;
  if (!page.messages.empty()) {
    set.first = page.messages.front().id;
    set.first_index = page.first_index;
    set.last = page.messages.back().id;
  }
  set.count = page.count;
  out.add(xep::rsm::to_element(set));
  return out;
}

std::variant<Prefs, RequestError> parse_prefs(const xml::Element& e) {
  Prefs p;
  auto mode = mode_from_string(e.get("default"));
  if (!mode) return bad_request("default must be always, never or roster");
  p.default_mode = *mode;
  for (std::string_view list : {"always", "never"}) {
    std::set<std::string> seen;
    for (const xml::Element* l : e.children(list)) {
      for (const xml::Element* j : l->children("jid")) {
        auto jid = Jid::parse(j->text());
        if (!jid) return RequestError{"jid-malformed", "'" + j->text() + "' is not a JID"};
        if (seen.insert(jid->str()).second)
          (list == "always" ? p.always : p.never).push_back(jid->str());
      }
    }
  }
  return p;
}

xml::Element prefs_element(std::string_view ns, const Prefs& prefs) {
  xml::Element out("prefs", std::string(ns));
  out.set("default", to_string(prefs.default_mode));
  auto& always = out.add("always");
  for (const auto& j : prefs.always) always.text_child("jid", j);
  auto& never = out.add("never");
  for (const auto& j : prefs.never) never.text_child("jid", j);
  return out;
}

xml::Element metadata_element(
    const std::optional<std::pair<ArchivedMessage, ArchivedMessage>>& bounds) {
  xml::Element out("metadata", std::string(kNs2));
  if (!bounds) return out;
  out.add("start")
      .set("id", bounds->first.id)
      .set("timestamp", xep::format_datetime(at_ms(bounds->first.timestamp)));
  out.add("end")
      .set("id", bounds->second.id)
      .set("timestamp", xep::format_datetime(at_ms(bounds->second.timestamp)));
  return out;
}

}  // namespace parley::mam
