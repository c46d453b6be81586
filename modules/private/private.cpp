// XEP-0049 Private XML Storage: an account keeps XML fragments on its server, one per
// (element name, namespace), readable and writable only by itself.
#include "core/module.h"
#include "storage/account_store.h"
#include "xep/stored_element.h"

namespace parley {
namespace {

constexpr const char* kPrivateNs = "jabber:iq:private";

std::string key_of(const xml::Element& e) {
  return e.name() + " " + e.xmlns();
}

// §2.3: 'jabber:' and 'http://jabber.org/' namespaces and vcard-temp are reserved.
bool reserved(std::string_view ns) {
  return ns.empty() || ns.starts_with("jabber:") || ns.starts_with("http://jabber.org/") ||
         ns == "vcard-temp";
}

std::vector<const xml::Element*> fragments(const xml::Element& query) {
  std::vector<const xml::Element*> out;
  for (const auto& node : query.nodes())
    if (!node.is_text()) out.push_back(node.element.get());
  return out;
}

struct Private {
  struct Config {
    uint64_t max_bytes = 64 * 1024;
    static Config parse(const ConfigSection& s) { return {s.bytes("max_bytes", 64 * 1024)}; }
  };

  Private(ModuleContext& ctx, const Config& config) {
    // Account scope (the sender's own account falls back to it) so that requests to someone
    // else's JID reach us and get forbidden rather than service-unavailable (§2.3).
    ctx.iq(kPrivateNs, "query", IqType::Get, IqScope::Account, get);
    ctx.iq(kPrivateNs, "query", IqType::Set, IqScope::Account,
           [max = config.max_bytes](const IqRequest& iq) { set(iq, max); });
  }

  // Checks shared by get and set; false when an error was sent.
  static bool acceptable(const IqRequest& iq, const std::vector<const xml::Element*>& items) {
    if (iq.from().bare() != iq.to()) {
      iq.error(stanza::ErrorType::Cancel, "forbidden");
      return false;
    }
    // §2.3: at least one child element, else not-acceptable.
    if (items.empty()) {
      iq.error("not-acceptable", "a child element naming the namespace is required");
      return false;
    }
    for (const auto* e : items)
      if (reserved(e->xmlns())) {
        iq.error("not-acceptable", "reserved namespace: " + e->xmlns());
        return false;
      }
    return true;
  }

  static void get(const IqRequest& iq) {
    auto items = fragments(iq.payload());
    if (!acceptable(iq, items)) return;
    // §2.3: a client must not ask for more than one namespace at a time.
    if (items.size() > 1) return iq.error("bad-request", "one element per request");
    xml::Element wanted = *items.front();
    iq.server().db().post(iq.to().str(), [iq, wanted](storage::Connection& c) {
      try {
        xml::Element query("query", kPrivateNs);
        auto stored = storage::UserDataStore(c).get(iq.to(), "private", key_of(wanted));
        std::unique_ptr<xml::Element> found;
        if (stored) found = xep::load_element(*stored);
        // Nothing stored: the request's own empty element comes back (§2.3 example).
        if (found)
          query.add(std::move(*found));
        else
          query.add(xml::Element(wanted.name(), wanted.xmlns()));
        iq.reply(std::move(query));
      } catch (const std::exception& e) {
        PLOG(Warn, "private") << "load for " << iq.to().str() << " failed: " << e.what();
        iq.error("internal-server-error");
      }
    });
  }

  static void set(const IqRequest& iq, uint64_t max_bytes) {
    auto items = fragments(iq.payload());
    if (!acceptable(iq, items)) return;
    std::vector<std::pair<std::string, std::string>> writes;  // key, stored text
    for (const auto* e : items) {
      std::string text = xep::store_element(*e);
      if (text.size() > max_bytes)
        return iq.error("not-acceptable",
                        "element larger than " + std::to_string(max_bytes) + " bytes");
      writes.emplace_back(key_of(*e), std::move(text));
    }
    iq.server().db().post(iq.to().str(), [iq, writes = std::move(writes)](storage::Connection& c) {
      try {
        storage::UserDataStore store(c);
        c.transaction([&] {
          for (const auto& [key, text] : writes) store.set(iq.to(), "private", key, text);
        });
        iq.reply();
      } catch (const std::exception& e) {
        PLOG(Warn, "private") << "store for " << iq.to().str() << " failed: " << e.what();
        iq.error("internal-server-error");
      }
    });
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Private)
