// XEP-0054 vcard-temp: each account's vCard, stored whole (there are no partial updates,
// §3.2), readable by everyone, writable only by its owner.
#include "core/module.h"
#include "storage/account_store.h"
#include "xep/stored_element.h"

namespace parley {
namespace {

constexpr const char* kVCardNs = "vcard-temp";

xml::Element empty_vcard() {
  return xml::Element("vCard", kVCardNs);
}

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
  }

  // §3.1 / §3.3: one's own vCard, or an empty one; someone else's, or service-unavailable
  // whether the account or only its vCard is missing (so vCards cannot harvest accounts).
  static void get(const IqRequest& iq) {
    bool own = iq.from().bare() == iq.to();
    iq.server().db().post(iq.to().str(), [iq, own](storage::Connection& c) {
      try {
        auto stored = storage::UserDataStore(c).get(iq.to(), "vcard", "");
        if (stored) {
          if (auto vcard = xep::load_element(*stored)) return iq.reply(std::move(*vcard));
          PLOG(Warn, "vcard") << "stored vCard of " << iq.to().str() << " is unreadable";
        }
        if (own) return iq.reply(empty_vcard());
        iq.error("service-unavailable");
      } catch (const std::exception& e) {
        PLOG(Warn, "vcard") << "load for " << iq.to().str() << " failed: " << e.what();
        iq.error("internal-server-error");
      }
    });
  }

  // §3.2: the owner replaces the whole vCard; setting another user's is forbidden.
  static void set(const IqRequest& iq, uint64_t max_bytes) {
    if (iq.from().bare() != iq.to()) return iq.error(stanza::ErrorType::Auth, "forbidden");
    std::string text = xep::store_element(iq.payload());
    if (text.size() > max_bytes)
      return iq.error("not-acceptable",
                      "vCard larger than " + std::to_string(max_bytes) + " bytes");
    bool empty = iq.payload().first_child() == nullptr;
    iq.server().db().post(
        iq.to().str(), [iq, text = std::move(text), empty](storage::Connection& c) {
          try {
            storage::UserDataStore store(c);
            if (empty)
              store.remove(iq.to(), "vcard", "");  // an empty vCard is no vCard
            else
              store.set(iq.to(), "vcard", "", text);
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
