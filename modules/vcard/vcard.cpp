// XEP-0054 vcard-temp: each account's vCard, stored whole (there are no partial updates,
// §3.2), readable by everyone, writable only by its owner. Other modules read and write vCards
// through vcard::Service and watch changes with vcard::VCardChanged (service.h).
#include "modules/vcard/service.h"

#include "core/module.h"
#include "storage/account_store.h"
#include "xep/stored_element.h"

namespace parley {
namespace {

constexpr const char* kVCardNs = "vcard-temp";

xml::Element empty_vcard() {
  return xml::Element("vCard", kVCardNs);
}

// The stored vCard of `account`, or null. Throws when storage fails.
std::shared_ptr<xml::Element> load(storage::Connection& c, const Jid& account) {
  auto stored = storage::UserDataStore(c).get(account, "vcard", "");
  if (!stored) return nullptr;
  if (auto vcard = xep::load_element(*stored))
    return std::shared_ptr<xml::Element>(std::move(vcard));
  PLOG(Warn, "vcard") << "stored vCard of " << account.str() << " is unreadable";
  return nullptr;
}

// The checks every write passes: the serialized vCard, or nullopt when it is too big.
std::optional<std::string> serialize(const xml::Element& vcard, uint64_t max_bytes) {
  std::string text = xep::store_element(vcard);
  if (text.size() > max_bytes) return std::nullopt;
  return text;
}

// Stores (or, for a vCard without children, removes) `vcard` and tells the watchers. On the
// account's worker; throws when storage fails.
void store(Server& server, storage::Connection& c, const Jid& account, const xml::Element& vcard,
           const std::string& text, bool by_client) {
  storage::UserDataStore store(c);
  bool empty = vcard.first_child() == nullptr;
  if (empty)
    store.remove(account, "vcard", "");  // an empty vCard is no vCard
  else
    store.set(account, "vcard", "", text);
  vcard::VCardChanged event{
      server, account, empty ? nullptr : std::make_shared<const xml::Element>(vcard), by_client};
  server.hooks().fire(event);
}

class Service final : public vcard::Service {
 public:
  Service(Server& server, uint64_t max_bytes) : server_(server), max_bytes_(max_bytes) {}

  void get(const Jid& account,
           std::function<void(vcard::Error, std::shared_ptr<const xml::Element>)> done) override {
    server_.db().post(account.bare_str(), [account = account.bare(),
                                           done = std::move(done)](storage::Connection& c) {
      std::shared_ptr<const xml::Element> vcard;
      try {
        vcard = load(c, account);
      } catch (const std::exception& e) {
        PLOG(Warn, "vcard") << "load for " << account.str() << " failed: " << e.what();
        return done("internal-server-error", nullptr);
      }
      done({}, std::move(vcard));
    });
  }

  void set(const Jid& account, xml::Element vcard,
           std::function<void(vcard::Error)> done) override {
    auto text = serialize(vcard, max_bytes_);
    if (!text) return done("not-acceptable");
    server_.db().post(account.bare_str(), [&server = server_, account = account.bare(),
                                           vcard = std::move(vcard), text = std::move(*text),
                                           done = std::move(done)](storage::Connection& c) {
      try {
        store(server, c, account, vcard, text, /*by_client=*/false);
      } catch (const std::exception& e) {
        PLOG(Warn, "vcard") << "store for " << account.str() << " failed: " << e.what();
        return done("internal-server-error");
      }
      done({});
    });
  }

  void update(const Jid& account, std::function<bool(xml::Element&)> change,
              std::function<void(vcard::Error)> done) override {
    server_.db().post(account.bare_str(), [&server = server_, max = max_bytes_,
                                           account = account.bare(), change = std::move(change),
                                           done = std::move(done)](storage::Connection& c) {
      try {
        auto stored = load(c, account);
        xml::Element vcard = stored ? std::move(*stored) : empty_vcard();
        if (!change(vcard)) return done({});
        auto text = serialize(vcard, max);
        if (!text) return done("not-acceptable");
        store(server, c, account, vcard, *text, /*by_client=*/false);
      } catch (const std::exception& e) {
        PLOG(Warn, "vcard") << "update for " << account.str() << " failed: " << e.what();
        return done("internal-server-error");
      }
      done({});
    });
  }

 private:
  Server& server_;
  const uint64_t max_bytes_;
};

struct VCard {
  struct Config {
    uint64_t max_bytes = 64 * 1024;
    static Config parse(const ConfigSection& s) { return {s.bytes("max_bytes", 64 * 1024)}; }
  };

  VCard(ModuleContext& ctx, const Config& config) {
    // §8: the server announces vcard-temp in its own disco#info.
    ctx.feature(kVCardNs, FeatureScope::Host);
    // The server has no vCard of its own.
    ctx.iq(
        kVCardNs, "vCard", IqType::Get, IqScope::Host,
        [](const IqRequest& iq) { iq.reply(empty_vcard()); }, /*advertise=*/false);
    ctx.iq(kVCardNs, "vCard", IqType::Get, IqScope::Account, get);
    ctx.iq(kVCardNs, "vCard", IqType::Set, IqScope::Account,
           [max = config.max_bytes](const IqRequest& iq) { set(iq, max); });
    ctx.provide<vcard::Service>(std::make_shared<Service>(ctx.server(), config.max_bytes));
  }

  // §3.1 / §3.3: one's own vCard, or an empty one; someone else's, or service-unavailable
  // whether the account or only its vCard is missing (so vCards cannot harvest accounts).
  static void get(const IqRequest& iq) {
    bool own = iq.from().bare() == iq.to();
    iq.server().db().post(iq.to().str(), [iq, own](storage::Connection& c) {
      try {
        if (auto vcard = load(c, iq.to())) return iq.reply(std::move(*vcard));
        if (own) return iq.reply(empty_vcard());
        iq.error("service-unavailable");
      } catch (const std::exception& e) {
        PLOG(Warn, "vcard") << "load for " << iq.to().str() << " failed: " << e.what();
        iq.error("internal-server-error");
      }
    });
  }

  // §3.2: the owner replaces the whole vCard; setting another user's is forbidden. Watchers
  // hear of it (VCardChanged) after it is stored and before the owner gets the result, so what
  // they derive from it (the XEP-0153 hash in presence) is current when the client goes on.
  static void set(const IqRequest& iq, uint64_t max_bytes) {
    if (iq.from().bare() != iq.to()) return iq.error(stanza::ErrorType::Auth, "forbidden");
    auto text = serialize(iq.payload(), max_bytes);
    if (!text)
      return iq.error("not-acceptable",
                      "vCard larger than " + std::to_string(max_bytes) + " bytes");
    iq.server().db().post(iq.to().str(), [iq, text = std::move(*text)](storage::Connection& c) {
      try {
        store(iq.server(), c, iq.to(), iq.payload(), text, /*by_client=*/true);
        iq.reply();
      } catch (const std::exception& e) {
        PLOG(Warn, "vcard") << "store for " << iq.to().str() << " failed: " << e.what();
        iq.error("internal-server-error");
      }
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::VCard)
