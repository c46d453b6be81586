// XEP-0030 Service Discovery for the server and, on their behalf, for its accounts. Nothing
// here is a hand-kept list: identities, features, extension forms and items are what the
// loaded modules registered (DESIGN §4).
#include "xep/disco.h"
#include "core/module.h"
#include "events.h"
#include "im/roster_store.h"
#include "storage/database.h"

namespace parley {
namespace {

namespace xd = xep::disco;

void host_info(const IqRequest& iq) {
  // No nodes of our own yet; a module that adds some will answer them itself.
  if (iq.payload().has("node")) return iq.error("item-not-found");
  Features& f = iq.server().features();
  xd::Info info;
  info.identities = f.identities(FeatureScope::Host);
  info.features = f.list(FeatureScope::Host);
  info.extensions = f.extensions(FeatureScope::Host);
  iq.reply(xd::to_element(info));
}

void host_items(const IqRequest& iq) {
  if (iq.payload().has("node")) return iq.error("item-not-found");
  xd::Items items;
  for (auto& i : iq.server().features().disco_items(iq.to().domain()))
    items.items.push_back({std::move(i.jid), std::move(i.node), std::move(i.name)});
  iq.reply(xd::to_element(items));
}

void account_info_reply(const IqRequest& iq) {
  if (iq.payload().has("node")) return iq.error("item-not-found");
  Features& f = iq.server().features();
  xd::Info info;
  info.identities = f.identities(FeatureScope::Account);
  info.features = f.list(FeatureScope::Account);
  info.extensions = f.extensions(FeatureScope::Account);
  iq.reply(xd::to_element(info));
}

// §10 (Security Considerations) 1: the server answers for an account only to the account
// itself and to entities allowed to see its presence (subscription 'from' or 'both');
// everyone else, and anyone asking about an account that does not exist, gets
// service-unavailable, so disco cannot be used to harvest accounts or probe presence.
void account_info(const IqRequest& iq) {
  if (iq.from().bare() == iq.to()) return account_info_reply(iq);
  iq.server().db().post(iq.to().str(), [iq](storage::Connection& c) {
    try {
      auto item = im::RosterStore(c).item(iq.to(), iq.from().bare());
      bool allowed = item && (item->subscription == im::Subscription::From ||
                              item->subscription == im::Subscription::Both);
      if (!allowed) return iq.error("service-unavailable");
      account_info_reply(iq);
    } catch (const std::exception& e) {
      PLOG(Warn, "disco") << "roster lookup for " << iq.to().str() << " failed: " << e.what();
      iq.error("internal-server-error");
    }
  });
}

// §10 2: an account's items, as seen by others, never reveal its resources; with nothing
// else to list the result is empty — also for accounts that do not exist.
void account_items(const IqRequest& iq) {
  parley::disco::AccountItems event{iq};
  if (iq.server().hooks().fire(event).stopped) return;  // another module answers
  xd::Items items;
  items.node = iq.payload().get("node");
  iq.reply(xd::to_element(items));
}

struct Disco {
  explicit Disco(ModuleContext& ctx) {
    ctx.identity({"server", "im", "Parley"}, FeatureScope::Host);
    ctx.identity({"account", "registered", ""}, FeatureScope::Account);
    const std::string info(xd::kInfoNs), items(xd::kItemsNs);
    ctx.iq(info, "query", IqType::Get, IqScope::Host, host_info);
    ctx.iq(items, "query", IqType::Get, IqScope::Host, host_items);
    ctx.iq(info, "query", IqType::Get, IqScope::Account, account_info);
    ctx.iq(items, "query", IqType::Get, IqScope::Account, account_items);
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Disco)
