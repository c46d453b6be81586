// XEP-0313 Message Archive Management for user archives, with XEP-0359 stanza-ids, XEP-0059
// paging and XEP-0441 preferences. Every 1:1 message a local user sends or receives that is
// worth keeping (policy.h) goes into the user's archive at priority::kStamp, before offline
// storage and carbons see it, and gets <stanza-id by=owner id=archive-id/>; the client's
// XEP-0198 ack waits for the archive commit. Queries run on the owner's database worker.
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "archive_store.h"
#include "core/module.h"
#include "im/roster_store.h"
#include "policy.h"
#include "protocol.h"
#include "router/continuation.h"
#include "router/registry.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "service.h"
#include "storage/account_store.h"
#include "xep/stanza_id.h"
#include "xep/stored_element.h"

namespace parley {
namespace {

using namespace mam;
namespace sid = xep::sid;

constexpr const char* kSidNs = "urn:xmpp:sid:0";

// The preferences of every account that set any, loaded when the module loads and written
// through by the prefs handler, so that a message is decided without the database (unless the
// answer depends on the roster). An account that is not here uses the server's default.
class PrefsCache {
 public:
  std::shared_ptr<const Prefs> find(const Jid& owner) const {
    std::lock_guard lock(mutex_);
    auto it = map_.find(owner.str());
    return it == map_.end() ? nullptr : it->second;
  }
  void put(const Jid& owner, Prefs prefs) {
    auto p = std::make_shared<const Prefs>(std::move(prefs));
    std::lock_guard lock(mutex_);
    map_[owner.str()] = std::move(p);
  }
  void erase(const Jid& owner) {
    std::lock_guard lock(mutex_);
    map_.erase(owner.str());
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Prefs>> map_;
};

// Messages of an archive whose decision went to the database (roster mode). While any is
// waiting, later messages of the same archive wait too (same worker, FIFO), so none overtakes
// another.
class Pending {
 public:
  void add(const Jid& owner) {
    std::lock_guard lock(mutex_);
    ++count_[owner.str()];
  }
  void remove(const Jid& owner) {
    std::lock_guard lock(mutex_);
    auto it = count_.find(owner.str());
    if (it != count_.end() && --it->second == 0) count_.erase(it);
  }
  bool busy(const Jid& owner) const {
    std::lock_guard lock(mutex_);
    return count_.count(owner.str()) > 0;
  }

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int> count_;
};

struct State {
  State(Server& s, Mode mode, PageLimits l) : server(s), default_mode(mode), limits(l) {}
  Server& server;
  Mode default_mode;
  PageLimits limits;
  SequenceClock clock;
  PrefsCache cache;
  Pending pending;

  Prefs prefs_of(const Jid& owner) const {
    auto p = cache.find(owner);
    return p ? *p : Prefs{default_mode, {}, {}};
  }
};
using StatePtr = std::shared_ptr<State>;

// XEP-0359 §5 rule 2: the server assigns stanza-ids for the accounts it hosts, so any that
// claims one of its domains (or names nobody) did not come from it.
void strip_local_ids(Server& server, xml::Element& message) {
  sid::strip_stanza_ids(message, [&](std::string_view by) {
    auto j = Jid::parse(by);
    return !j || server.is_local(j->domain());
  });
}

// `check_owner`: the owner had no session, so it may not exist (RFC 6121 §8.5.1: nothing is
// kept for an account that does not exist; the message itself is bounced further on).
void append_now(const StatePtr& st, const Jid& owner, NewMessage row, InFlight in_flight,
                bool check_owner) {
  st->server.db().write(
      owner.str(),
      [owner, row = std::move(row), check_owner](storage::Connection& c) {
        if (check_owner && !storage::AccountStore(c).exists(owner)) return;
        ArchiveStore(c).append(owner, row);
      },
      [owner, in_flight = std::move(in_flight)](bool committed) mutable {
        if (!committed) {
          PLOG(Warn, "mam") << "archiving a message for " << owner.str() << " failed";
        }
        in_flight.reset();  // the sender's ack may count it now (XEP-0198)
      });
}

// Archives `e.stanza` in `owner`'s archive if the preferences say so, and adds the stanza-id.
// Returns Stop when the decision needs the database: the message waits there, and goes on
// with the handlers after this one once decided (DESIGN §4).
template <class E>
Flow archive(const StatePtr& st, E& e, const Jid& owner, const Jid& with, Direction direction) {
  const bool out = direction == Direction::Outgoing;
  std::string id = sid::archive_id(*e.stanza, out ? owner.bare_str() : with.bare_str(),
                                   out ? with.bare_str() : owner.bare_str());
  // What is stored is the message as routed, without this archive's stanza-id.
  NewMessage row{st->clock.next(),
                 id,
                 std::string(with.bare_str()),
                 std::string(with.resource()),
                 direction,
                 xep::store_element(*e.stanza)};

  if (!st->pending.busy(owner)) {
    switch (decide(st->prefs_of(owner), with)) {
      case Verdict::Skip:
        return Flow::Continue;
      case Verdict::Archive:
        append_now(st, owner, std::move(row), e.in_flight,
                   !out && st->server.sessions().resources(owner).empty());
        // XEP-0313 §3.5: the archive id goes with the message (for the owner's devices).
        sid::add_stanza_id(*e.stanza, {id, owner.str()});
        return Flow::Continue;
      case Verdict::AskRoster:
        break;
    }
  }

  // Roster mode (or an earlier message still waiting): the roster is in the database, so the
  // decision is made on the owner's worker, and the message goes on its way from there.
  st->pending.add(owner);
  Continuation waiting = suspend(e);
  auto archived = std::make_shared<bool>(false);
  st->server.db().write(
      owner.str(),
      [st, owner, with, row, archived, out](storage::Connection& c) {
        Verdict v = decide(st->prefs_of(owner), with);
        if (v == Verdict::AskRoster)
          v = im::RosterStore(c).item(owner, with.bare()) ? Verdict::Archive : Verdict::Skip;
        // RFC 6121 §8.5.1: no archive for an account that does not exist.
        if (v == Verdict::Archive && !out && !storage::AccountStore(c).exists(owner))
          v = Verdict::Skip;
        if (v != Verdict::Archive) return;
        ArchiveStore store(c);
        store.append(owner, row);  // false for a resent message: it keeps its first row's id
        *archived = true;
      },
      [st, owner, id, archived, waiting](bool committed) {
        if (*archived && committed) {
          sid::add_stanza_id(*waiting.event().stanza, {id, owner.str()});
        } else if (*archived) {
          PLOG(Warn, "mam") << "archiving a message for " << owner.str() << " failed";
        }
        waiting.resume();  // the sender's ack (XEP-0198) waits until this returns
        st->pending.remove(owner);
      });
  return Flow::Stop;
}

// A message arriving for a local account (MessageToBare, or MessageToFull to an online JID).
template <class E>
Flow incoming(const StatePtr& st, E& e) {
  auto& m = *e.stanza;
  const Jid owner = e.to.bare();
  // XEP-0359 §5 rule 2, and XEP-0313 §3.5: the recipient never sees the sender's stanza-id
  // (nor a forged one). A room's own stanza-id on groupchat is the room's to keep.
  if (m.get("type") == "groupchat")
    sid::strip_stanza_ids(m, [&](std::string_view by) { return by == owner.str(); });
  else
    strip_local_ids(st->server, m);
  if (!worth_archiving(m)) return Flow::Continue;
  return archive(st, e, owner, e.from, Direction::Incoming);
}

// Results and the mam:0 <fin/> message are copies made for one session: never redelivered.
bool is_archive_copy(const xml::Element& m) {
  for (const auto& node : m.nodes()) {
    if (node.is_text()) continue;
    const auto& c = *node.element;
    if ((c.name() == "result" || c.name() == "fin") && c.xmlns().starts_with("urn:xmpp:mam:"))
      return true;
  }
  return false;
}

template <class Fn>
void on_worker(const StatePtr& st, const IqRequest& iq, const Jid& owner, Fn fn) {
  st->server.db().post(owner.str(), [iq, fn = std::move(fn)](storage::Connection& c) {
    try {
      fn(c);
    } catch (const std::exception& ex) {
      PLOG(Warn, "mam") << iq.payload().name() << " for " << iq.from().str()
                        << " failed: " << ex.what();
      iq.error("internal-server-error");
    }
  });
}

void run_query(const StatePtr& st, const IqRequest& iq, const Query& q) {
  const Jid owner = iq.to();
  on_worker(st, iq, owner, [st, iq, q, owner](storage::Connection& c) {
    Page page;
    try {
      page = ArchiveStore(c).query(owner, q.filter, q.page);
    } catch (const UnknownId& ex) {
      // XEP-0313 §4.1.3, §4.3.2.
      iq.error("item-not-found", "no message with id " + ex.id + " in the archive");
      return;
    }
    Server& server = st->server;
    const std::string requester = iq.from().str();
    SessionPtr session = server.sessions().find(iq.from());
    auto send = [&](xml::Element m) {
      auto p = std::make_shared<xml::Element>(std::move(m));
      if (session)
        Router::deliver(session, std::move(p));
      else
        server.router().route(std::move(p));
    };
    if (q.ns == kNs0) iq.reply();  // mam:0: the IQ result first, <fin/> in a message last
    std::vector<const ArchivedMessage*> order;
    for (const auto& m : page.messages) order.push_back(&m);
    if (q.flip) std::reverse(order.begin(), order.end());
    for (const ArchivedMessage* m : order) {
      auto stored = xep::load_element(m->stanza);
      if (!stored) {
        PLOG(Warn, "mam") << "skipping unreadable archived message " << m->id << " of "
                          << owner.str();
        continue;
      }
      send(result_message(q, *m, *stored, owner.str(), requester));
    }
    if (q.ns == kNs0) {
      xml::Element done("message", "jabber:client");
      done.set("from", owner.str()).set("to", requester);
      done.add(fin(q, page));
      done.add("no-store", "urn:xmpp:hints");
      send(std::move(done));
    } else {
      iq.reply(fin(q, page));
    }
  });
}

// The archive for other modules: rooms' archives (service.h).
class Service : public ArchiveService {
 public:
  explicit Service(StatePtr st) : st_(std::move(st)) {}

  std::string append(const Jid& owner, const Jid& with, const xml::Element& message,
                     InFlight done) override {
    std::string id = sid::archive_id(message, with.str(), owner.bare_str());
    NewMessage row{st_->clock.next(),
                   id,
                   std::string(with.bare_str()),
                   std::string(with.resource()),
                   Direction::Incoming,
                   xep::store_element(message)};
    append_now(st_, owner.bare(), std::move(row), std::move(done), false);
    return id;
  }

  void serve(const IqRequest& iq) override {
    const auto& p = iq.payload();
    const std::string& ns = p.xmlns();
    const bool known = ns == kNs2 || ns == kNs1 || ns == kNs0;
    if (known && p.name() == "query" && iq.type() == IqType::Set) {
      auto parsed = parse_query(p, st_->limits);
      if (auto* error = std::get_if<RequestError>(&parsed))
        return iq.error(error->condition, error->text);
      return run_query(st_, iq, std::get<Query>(parsed));
    }
    if (known && p.name() == "query" && iq.type() == IqType::Get) return iq.reply(query_form(ns));
    if (ns == kNs2 && p.name() == "metadata" && iq.type() == IqType::Get) {
      const Jid owner = iq.to();
      return on_worker(st_, iq, owner, [iq, owner](storage::Connection& c) {
        iq.reply(metadata_element(ArchiveStore(c).bounds(owner)));
      });
    }
    iq.error("service-unavailable");
  }

  void remove_all(const Jid& owner) override {
    const Jid bare = owner.bare();
    st_->server.db().post(bare.str(), [bare](storage::Connection& c) {
      int64_t n = ArchiveStore(c).remove_all(bare);
      PLOG(Info, "mam") << "removed the archive of " << bare.str() << " (" << n << " messages)";
    });
  }

  void retract(const Jid& owner, const std::string& id, const std::string& by, Tombstone tombstone,
               std::function<void(Retraction)> done) override {
    const Jid bare = owner.bare();
    auto outcome = std::make_shared<Retraction>(Retraction::NotFound);
    // A write (same worker and order as the appends), so it sees every message appended before.
    st_->server.db().write(
        bare.str(),
        [bare, id, by, tombstone = std::move(tombstone), outcome](storage::Connection& c) {
          *outcome = Retraction::NotFound;  // the work may run again (database.h)
          ArchiveStore store(c);
          Filter filter;
          filter.ids = {id};
          Page page;
          try {
            page = store.query(bare, filter, PageRequest{1, {}, {}, {}});
          } catch (const UnknownId&) {
            return;
          }
          if (page.messages.empty()) return;
          const ArchivedMessage& row = page.messages.front();
          if (row.retracted_at) {  // already a tombstone: nothing more to hide
            *outcome = Retraction::Done;
            return;
          }
          auto original = xep::load_element(row.stanza);
          if (!original) throw std::runtime_error("unreadable archived message " + id);
          auto replaced = tombstone(*original);
          if (!replaced) {
            *outcome = Retraction::Refused;
            return;
          }
          using namespace std::chrono;
          const int64_t now =
              duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
          store.retract(bare, id, now, by, xep::store_element(*replaced));
          *outcome = Retraction::Done;
        },
        [outcome, done = std::move(done)](bool committed) {
          if (done) done(committed ? *outcome : Retraction::Failed);
        });
  }

 private:
  StatePtr st_;
};

struct Mam {
  struct Config {
    Mode default_mode = Mode::Always;
    std::chrono::milliseconds retention{0};  // 0 = keep forever
    int64_t default_page_size = 50;
    int64_t max_page_size = 250;
    static Config parse(const ConfigSection& s) {
      Config c;
      c.default_mode =
          *mode_from_string(s.one_of("default_mode", "always", {"always", "never", "roster"}));
      if (s.string("retention", "forever") != "forever") {
        c.retention = s.duration("retention", c.retention);
        if (c.retention.count() <= 0)
          throw ConfigError(s.path() + ".retention: must be positive, or 'forever'");
      }
      c.max_page_size = s.integer("max_page_size", c.max_page_size, 1, 10000);
      c.default_page_size = s.integer("default_page_size", c.default_page_size, 1, 10000);
      if (c.default_page_size > c.max_page_size)
        throw ConfigError(s.path() + ".default_page_size: larger than max_page_size");
      return c;
    }
  };

  Mam(ModuleContext& ctx, const Config& config) {
    Server& server = ctx.server();
    auto st = std::make_shared<State>(server, config.default_mode,
                                      PageLimits{config.default_page_size, config.max_page_size});
    load(st);

    // §7 Determining support; XEP-0359 §6 (the accounts are the 'by' entities).
    ctx.feature(std::string(kExtended), FeatureScope::Account);
    ctx.feature(std::string(kGroupchatField), FeatureScope::Account);
    ctx.feature(kSidNs, FeatureScope::Account);
    ctx.feature(kSidNs, FeatureScope::Host);

    // Outgoing: the sender's archive, before carbons copy it (XEP-0313 §3.5: the sender's
    // other devices get the stanza-id inside the sent carbon).
    ctx.on<StanzaFromClient>(priority::kStamp, [st](StanzaFromClient& e) {
      auto& m = *e.stanza;
      if (m.name() != "message") return Flow::Continue;
      strip_local_ids(st->server, m);  // a client never assigns these (XEP-0359 §5)
      if (!e.to.has_local() || !worth_archiving(m)) return Flow::Continue;
      return archive(st, e, e.from.bare(), e.to, Direction::Outgoing);
    });
    // Incoming: the recipient's archive. A full JID that is not online is fired again as a
    // bare JID by the core (RFC 6121 §8.5.3.2.1); it is archived there, once.
    ctx.on<MessageToBare>(priority::kStamp, [st](MessageToBare& e) { return incoming(st, e); });
    ctx.on<MessageToFull>(priority::kStamp, [st](MessageToFull& e) {
      if (!st->server.sessions().find(e.to)) return Flow::Continue;
      return incoming(st, e);
    });
    // The sender's stanza-id does not leave the server either.
    ctx.on<StanzaToRemote>(priority::kStamp, [st](StanzaToRemote& e) {
      if (e.stanza->name() == "message") strip_local_ids(st->server, *e.stanza);
      return Flow::Continue;
    });
    // Archive results left unacknowledged in a closed session are not messages to anyone.
    ctx.on<MessageUndelivered>(priority::kFilter, [](MessageUndelivered& e) {
      return is_archive_copy(*e.stanza) ? Flow::Stop : Flow::Continue;
    });

    register_queries(ctx, st);
    register_prefs(ctx, st);
    ctx.provide<ArchiveService>(std::make_shared<Service>(st));

    ctx.on<AccountDeleted>(priority::kNormal, [st](AccountDeleted& e) {
      const Jid owner = e.account.bare();
      st->cache.erase(owner);
      st->server.db().post(owner.str(), [owner](storage::Connection& c) {
        int64_t n = ArchiveStore(c).remove_all(owner);
        PLOG(Info, "mam") << "removed the archive of " << owner.str() << " (" << n << " messages)";
      });
      return Flow::Continue;
    });

    // Retention (§3.2): the oldest messages go, checked hourly (or more often for a short one).
    if (config.retention.count() > 0) {
      const auto retention = config.retention;
      const auto period = std::min<std::chrono::milliseconds>(retention, std::chrono::hours(1));
      ctx.every(period, [&server, retention] {
        using namespace std::chrono;
        const int64_t before =
            duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count() -
            retention.count();
        server.db().post("mam/purge", [before](storage::Connection& c) {
          int64_t n = ArchiveStore(c).purge_older_than(before);
          if (n > 0) {
            PLOG(Info, "mam") << "purged " << n << " archived messages";
          }
        });
      });
    }
  }

  // At load, before any message can be archived: the sequence never goes below what the
  // database holds, even if the clock went back over a restart (§3.1 order), and every
  // account's preferences are known.
  static void load(const StatePtr& st) {
    auto done = std::make_shared<std::promise<void>>();
    auto result = done->get_future();
    st->server.db().post("mam/load", [st, done](storage::Connection& c) {
      try {
        ArchiveStore store(c);
        st->clock.advance_to(store.max_seq());
        auto all = store.all_prefs();
        for (auto& [bare, prefs] : all)
          if (auto owner = Jid::parse(bare)) st->cache.put(*owner, std::move(prefs));
        PLOG(Info, "mam") << "archive ready; " << all.size() << " accounts with preferences";
        done->set_value();
      } catch (...) {
        done->set_exception(std::current_exception());
      }
    });
    if (result.wait_for(std::chrono::seconds(60)) != std::future_status::ready)
      throw std::runtime_error("mam: the database did not answer at load");
    result.get();
  }

  static void register_queries(ModuleContext& ctx, const StatePtr& st) {
    for (std::string_view ns : {kNs2, kNs1, kNs0}) {
      const std::string n(ns);
      ctx.iq(n, "query", IqType::Set, IqScope::Self, [st](const IqRequest& iq) {
        auto parsed = parse_query(iq.payload(), st->limits);
        if (auto* error = std::get_if<RequestError>(&parsed))
          return iq.error(error->condition, error->text);
        run_query(st, iq, std::get<Query>(parsed));
      });
      // §8.1: nobody reads another account's archive.
      ctx.iq(n, "query", IqType::Set, IqScope::Account,
             [](const IqRequest& iq) { iq.error("forbidden"); });
      // §4.1.5: the form with the fields this server supports.
      ctx.iq(n, "query", IqType::Get, IqScope::Self,
             [n](const IqRequest& iq) { iq.reply(query_form(n)); });
      ctx.iq(n, "query", IqType::Get, IqScope::Account,
             [](const IqRequest& iq) { iq.error("forbidden"); });
    }
    // §5 archive metadata.
    ctx.iq(std::string(kNs2), "metadata", IqType::Get, IqScope::Self, [st](const IqRequest& iq) {
      const Jid owner = iq.to();
      on_worker(st, iq, owner, [iq, owner](storage::Connection& c) {
        iq.reply(metadata_element(ArchiveStore(c).bounds(owner)));
      });
    });
  }

  // XEP-0441 preferences, in each namespace a query may use.
  static void register_prefs(ModuleContext& ctx, const StatePtr& st) {
    for (std::string_view ns : {kNs2, kNs1, kNs0}) {
      const std::string n(ns);
      ctx.iq(n, "prefs", IqType::Get, IqScope::Self, [st, n](const IqRequest& iq) {
        const Jid owner = iq.to();
        on_worker(st, iq, owner, [st, iq, n, owner](storage::Connection& c) {
          auto prefs = ArchiveStore(c).prefs(owner).value_or(Prefs{st->default_mode, {}, {}});
          iq.reply(prefs_element(n, prefs));
        });
      });
      ctx.iq(n, "prefs", IqType::Set, IqScope::Self, [st, n](const IqRequest& iq) {
        auto parsed = parse_prefs(iq.payload());
        if (auto* error = std::get_if<RequestError>(&parsed))
          return iq.error(error->condition, error->text);
        const Jid owner = iq.to();
        on_worker(st, iq, owner,
                  [st, iq, n, owner, prefs = std::get<Prefs>(parsed)](storage::Connection& c) {
                    ArchiveStore(c).set_prefs(owner, prefs);
                    st->cache.put(owner, prefs);
                    iq.reply(prefs_element(n, prefs));  // XEP-0441: the stored preferences
                  });
      });
    }
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Mam)
