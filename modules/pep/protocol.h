// The XEP-0060 requests a PEP service answers (the subset XEP-0163 needs), decoded from the
// <pubsub/> payload of an IQ into typed values, and the event notifications it sends (§7.1.2,
// §7.2.2.1, §8.4.3.1, §8.5.3.1).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "modules/pep/service.h"
#include "xep/rsm.h"
#include "xml/element.h"

namespace parley::pep {

struct Publish {
  std::string node;
  std::string item_id;  // "" = the service makes one
  std::shared_ptr<const xml::Element> payload;
  std::optional<Options> publish_options;
};
struct Retrieve {
  std::string node;
  std::vector<std::string> item_ids;  // empty = not by id
  std::optional<int64_t> max_items;
  std::optional<xep::rsm::Request> rsm;
};
struct Retract {
  std::string node;
  std::vector<std::string> item_ids;
};
struct Create {
  std::string node;
  std::optional<Options> config;
};
struct ConfigureGet {
  std::string node;
};
struct ConfigureSet {
  std::string node;
  std::optional<Options> fields;  // nullopt: a cancel form (§8.2.6)
};
struct DefaultGet {};
struct Delete {
  std::string node;
};
struct Purge {
  std::string node;
};
// A request PEP does not do (explicit subscriptions, affiliations, ...): the §-named
// <unsupported feature='...'/> answer.
struct Unsupported {
  std::string feature;
};

using Request = std::variant<Publish, Retrieve, Retract, Create, ConfigureGet, ConfigureSet,
                             DefaultGet, Delete, Purge, Unsupported>;

// Why a request is not one: the stanza error and, where XEP-0060 names one, the pubsub#errors
// condition.
struct Invalid {
  std::string condition;  // "bad-request", ...
  std::string pubsub_condition;
  std::string text;
};

// `pubsub` is the IQ's payload (<pubsub xmlns='...pubsub'/> or '...pubsub#owner'), `set` its
// type. Never throws on any input.
std::variant<Request, Invalid> parse(const xml::Element& pubsub, bool set);

// <pubsub xmlns='...#errors'><condition/></pubsub>-style application condition; with
// `feature` for unsupported.
xml::Element pubsub_error(std::string_view condition, std::string_view feature = {});

// <event xmlns='...#event'><items node='n'>...</items></event> notifications.
xml::Element event_items(const std::string& node, const std::vector<Item>& items, bool payloads);
xml::Element event_retract(const std::string& node, const std::vector<std::string>& ids);
xml::Element event_delete(const std::string& node);
xml::Element event_purge(const std::string& node);
// <message type='headline'> around an event, from the account.
xml::Element notification(const Jid& from, const Jid& to, xml::Element event);

// <item id='x'>payload</item> in `ns` (pubsub for retrieval results, #event for notifications).
xml::Element item_element(const Item& item, std::string_view ns, bool payload);

}  // namespace parley::pep
