// XEP-0313 payloads in the three namespaces clients still use, and XEP-0441 preferences:
//   urn:xmpp:mam:2  current: IQ set with a filter form, results, IQ result with <fin/>;
//                   stanza-ids in live messages; the #extended fields, flip-page, metadata.
//   urn:xmpp:mam:1  (XEP-0313 0.4, 0.5) the same query and <fin/> in the IQ result; the form
//                   has with/start/end only.
//   urn:xmpp:mam:0  (XEP-0313 0.3) the same query form, but the IQ result comes first (empty)
//                   and <fin/> follows in a <message/> after the results.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "archive_store.h"
#include "xml/element.h"

namespace parley::mam {

inline constexpr std::string_view kNs2 = "urn:xmpp:mam:2";
inline constexpr std::string_view kNs1 = "urn:xmpp:mam:1";
inline constexpr std::string_view kNs0 = "urn:xmpp:mam:0";
inline constexpr std::string_view kExtended = "urn:xmpp:mam:2#extended";
inline constexpr std::string_view kGroupchatField = "urn:xmpp:mam:2#groupchat-field";

// A request that cannot be served: the stanza error condition (RFC 6120 §8.3.3) and a text.
struct RequestError {
  std::string condition;
  std::string text;
};

struct Query {
  std::string ns;
  std::string queryid;
  Filter filter;
  PageRequest page;
  bool flip = false;  // XEP-0313 §4.3.4: send the page newest first
};

struct PageLimits {
  int64_t default_max = 50;  // when the client sends no RSM <max/>
  int64_t max = 250;         // the most one page holds (XEP-0313 §4.3.1)
};

// Decodes <query/> in `ns` (one of the three): the form (§4.1) and RSM (§4.3). Errors:
// bad-request for a malformed form, set, JID or date (with the codec's text),
// feature-not-implemented for a field this server does not know (§4.1.5).
std::variant<Query, RequestError> parse_query(const xml::Element& query, PageLimits limits);

// §4.1.5: the fields the server supports, as a form in a <query/> of `ns`.
xml::Element query_form(std::string_view ns);

// §4.2: <message from=archive to=requester><result queryid id><forwarded><delay/>stored...
xml::Element result_message(const Query& q, const ArchivedMessage& m, const xml::Element& stored,
                            const std::string& archive, const std::string& requester);

// §4.3.2: <fin complete><set>first (with index), last, count</set></fin>.
xml::Element fin(const Query& q, const Page& page);

// XEP-0441 <prefs default><always><jid/>...</always><never>...</never></prefs>. JIDs are
// normalized (bare JIDs stay bare); bad-request for an unknown default, jid-malformed for a
// JID that is not one.
std::variant<Prefs, RequestError> parse_prefs(const xml::Element& prefs);
xml::Element prefs_element(std::string_view ns, const Prefs& prefs);

// XEP-0313 §5: <metadata><start id timestamp/><end id timestamp/></metadata>, empty for an
// empty archive.
xml::Element metadata_element(
    const std::optional<std::pair<ArchivedMessage, ArchivedMessage>>& bounds);

}  // namespace parley::mam
