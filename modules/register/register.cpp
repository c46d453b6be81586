// XEP-0077 In-Band Registration: create an account before authenticating (off by default),
// change one's password, and cancel one's account.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <deque>
#include <mutex>
#include <unordered_map>

#include "core/module.h"
#include "im/roster_store.h"
#include "router/registry.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "sasl/credentials.h"
#include "storage/account_store.h"

namespace parley {
namespace {

constexpr const char* kRegisterNs = "jabber:iq:register";
constexpr const char* kStreamFeatureNs = "http://jabber.org/features/iq-register";
constexpr size_t kMaxPasswordBytes = 1024;

using Clock = std::chrono::steady_clock;

struct Options {
  bool allow_registration = false;
  bool require_encryption = true;
  unsigned min_password_length = 8;
  unsigned registration_rate_per_ip = 3;
  std::chrono::milliseconds registration_rate_window = std::chrono::hours(1);
  bool allow_password_change = true;
  bool allow_remove = true;
  std::string instructions;

  static Options parse(const ConfigSection& s) {
    Options c;
    c.allow_registration = s.boolean("allow_registration", false);
    c.require_encryption = s.boolean("require_encryption", true);
    c.min_password_length =
        static_cast<unsigned>(s.integer("min_password_length", 8, 1, kMaxPasswordBytes));
    c.registration_rate_per_ip =
        static_cast<unsigned>(s.integer("registration_rate_per_ip", 3, 1, 1'000'000));
    c.registration_rate_window = s.duration("registration_rate_window", std::chrono::hours(1));
    if (c.registration_rate_window.count() <= 0)
      throw ConfigError(s.path() + ".registration_rate_window: must be positive");
    c.allow_password_change = s.boolean("allow_password_change", true);
    c.allow_remove = s.boolean("allow_remove", true);
    c.instructions = s.string("instructions", "Choose a username and password.");
    return c;
  }
};

// Registrations per remote address in a sliding window. A slot is taken before the
// (expensive) credential derivation and given back when the registration fails.
class RateLimit {
 public:
  RateLimit(unsigned limit, std::chrono::milliseconds window) : limit_(limit), window_(window) {}

  bool acquire(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto now = Clock::now();
    if (++calls_ % 1024 == 0) prune(now);  // addresses that went quiet do not pile up
    auto& times = by_address_[address];
    while (!times.empty() && now - times.front() >= window_) times.pop_front();
    if (times.size() >= limit_) return false;
    times.push_back(now);
    return true;
  }
  void release(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto it = by_address_.find(address);
    if (it != by_address_.end() && !it->second.empty()) it->second.pop_back();
  }

 private:
  void prune(Clock::time_point now) {
    std::erase_if(by_address_, [&](const auto& entry) {
      return entry.second.empty() || now - entry.second.back() >= window_;
    });
  }
  std::mutex mutex_;
  unsigned limit_;
  std::chrono::milliseconds window_;
  uint64_t calls_ = 0;
  std::unordered_map<std::string, std::deque<Clock::time_point>> by_address_;
};

struct State {
  explicit State(Options c)
      : config(std::move(c)),
        rate(config.registration_rate_per_ip, config.registration_rate_window) {}
  Options config;
  RateLimit rate;
};

// The prepared password, or an error text (the condition is always not-acceptable, §3.1).
std::optional<std::string> prepare_password(const std::string& raw, unsigned min_length,
                                            std::string& error) {
  if (raw.size() > kMaxPasswordBytes) {
    error = "password too long";
    return std::nullopt;
  }
  auto prepped = sasl::prep_password(raw);
  if (!prepped) {
    error = "password contains characters that are not allowed";
    return std::nullopt;
  }
  size_t characters = 0;
  for (unsigned char c : *prepped)
    if ((c & 0xC0) != 0x80) ++characters;
  if (characters < min_length) {
    error = "password must have at least " + std::to_string(min_length) + " characters";
    return std::nullopt;
  }
  return prepped;
}

size_t child_count(const xml::Element& e) {
  size_t n = 0;
  for (const auto& node : e.nodes()) n += !node.is_text();
  return n;
}

// ---- Before authentication: §3.1 registration ----

Flow unauthenticated(const std::shared_ptr<State>& state, UnauthenticatedIq& e) {
  const xml::Element& iq = *e.stanza;
  const xml::Element* query = iq.child("query", kRegisterNs);
  if (!query) return Flow::Continue;
  const Options& config = state->config;
  auto fail = [&](std::string_view condition, std::string_view text = {}) {
    e.reply(stanza::error_reply(iq, condition, text));
    return Flow::Stop;
  };
  auto type = iq.get("type");
  if (type != "get" && type != "set") return Flow::Continue;
  // §3.1: a host without in-band registration answers service-unavailable.
  if (!config.allow_registration) return fail("service-unavailable");

  if (type == "get") {
    xml::Element form("query", kRegisterNs);
    form.text_child("instructions", config.instructions);
    form.add("username");
    form.add("password");
    e.reply(stanza::iq_result(iq, std::move(form)));
    return Flow::Stop;
  }

  // §8: the password travels in the clear inside the stream; only over TLS.
  if (config.require_encryption && !e.secure)
    return fail("not-authorized", "registration requires an encrypted connection");
  // §3.2: nobody is registered yet on this stream.
  if (query->child("remove")) return fail("unexpected-request");

  // §3.1: every field must be given, and an empty password is missing information.
  const xml::Element* username = query->child("username");
  const xml::Element* password = query->child("password");
  if (!username || !password || username->text().empty() || password->text().empty())
    return fail("not-acceptable", "username and password are required");
  auto local = Jid::prep_local(username->text());
  auto jid = local ? Jid::from_parts(*local, e.host) : std::nullopt;
  if (!jid) return fail("jid-malformed", "this username is not allowed");
  std::string why;
  auto prepped = prepare_password(password->text(), config.min_password_length, why);
  if (!prepped) return fail("not-acceptable", why);
  // §3.1 (Registration with an unregistered entity): too many registrations from one place
  // get not-acceptable.
  if (!state->rate.acquire(e.remote_address))
    return fail("not-acceptable", "too many registrations from your address; try again later");

  // Credential derivation is PBKDF2 work: it runs on the database worker, never on I/O.
  unsigned iterations = e.server.config().c2s.scram_iterations;
  e.server.db().post(jid->str(), [state, reply = e.reply, request = e.stanza, jid = *jid,
                                  password = std::move(*prepped), address = e.remote_address,
                                  iterations](storage::Connection& c) {
    try {
      storage::AccountStore accounts(c);
      // Checked first so a taken name costs no key derivation; create() decides races.
      if (accounts.exists(jid) || !accounts.create(jid, sasl::derive(password, iterations))) {
        state->rate.release(address);
        return reply(stanza::error_reply(*request, "conflict"));
      }
      PLOG(Info, "register") << "registered " << jid.str() << " from " << address;
      reply(stanza::iq_result(*request));
    } catch (const std::exception& ex) {
      state->rate.release(address);
      PLOG(Warn, "register") << "registration of " << jid.str() << " failed: " << ex.what();
      reply(stanza::error_reply(*request, "internal-server-error"));
    }
  });
  return Flow::Stop;
}

// ---- After authentication: §3.2 cancellation, §3.3 password change ----

// Only a local client's own account: the request goes to its home server (to the domain or to
// no one), never to another host or from another server.
bool own_account(const IqRequest& iq) {
  return iq.origin() && iq.from().has_local() && iq.from().domain() == iq.to().domain();
}

void registered(const IqRequest& iq) {
  if (!own_account(iq)) return iq.error("service-unavailable");
  // §3.1: an entity already registered gets <registered/> and what is on file (no password).
  xml::Element query("query", kRegisterNs);
  query.add("registered");
  query.text_child("username", iq.from().local());
  iq.reply(std::move(query));
}

// §3.2 "the server SHOULD also cancel all existing presence subscriptions" and RFC 6121
// §3.2.2 / §3.3.2: contacts learn the account is gone and that its resources went offline.
void farewell(Server& server, const Jid& account, const std::vector<im::RosterItem>& roster) {
  auto send = [&](const Jid& from, const Jid& to, std::string_view type) {
    xml::Element p("presence", "jabber:client");
    p.set("from", from.str()).set("to", to.str()).set("type", type);
    server.router().route(std::move(p));
  };
  auto resources = server.sessions().resources(account);
  for (const auto& item : roster) {
    using im::Subscription;
    if (item.subscription == Subscription::From || item.subscription == Subscription::Both) {
      for (const auto& s : resources)
        if (s->available) send(s->jid(), item.jid, "unavailable");
      send(account, item.jid, "unsubscribed");
    }
    if (item.subscription == Subscription::To || item.subscription == Subscription::Both ||
        item.ask)
      send(account, item.jid, "unsubscribe");
  }
}

void remove_account(const IqRequest& iq) {
  Jid account = iq.from().bare();
  iq.server().db().post(account.str(), [iq, account](storage::Connection& c) {
    std::vector<im::RosterItem> roster;
    try {
      roster = im::RosterStore(c).items(account);
      if (!storage::AccountStore(c).remove(account)) return iq.error("registration-required");
    } catch (const std::exception& e) {
      PLOG(Warn, "register") << "removing " << account.str() << " failed: " << e.what();
      return iq.error("internal-server-error");
    }
    PLOG(Info, "register") << "account " << account.str() << " cancelled in-band";
    iq.reply();
    // Back on the I/O threads: tell contacts and modules, then end the sessions with
    // not-authorized (§3.2).
    Server& server = iq.server();
    boost::asio::post(server.io(), [&server, account, roster = std::move(roster)] {
      farewell(server, account, roster);
      AccountDeleted event{server, account};
      server.hooks().fire(event);
      for (const auto& s : server.sessions().resources(account))
        s->close("not-authorized", "account removed");
    });
  });
}

void change_password(const std::shared_ptr<State>& state, const IqRequest& iq) {
  const Options& config = state->config;
  const xml::Element& query = iq.payload();
  if (!config.allow_password_change) return iq.error("not-allowed");
  // §3.3: a deployment may refuse password changes on a channel it does not trust.
  if (config.require_encryption && !iq.origin()->secure())
    return iq.error("not-authorized", "password changes require an encrypted connection");
  const xml::Element* username = query.child("username");
  const xml::Element* password = query.child("password");
  if (!username || !password) return iq.error("bad-request", "username and password are required");
  auto local = Jid::prep_local(username->text());
  if (!local || *local != iq.from().local())
    return iq.error(stanza::ErrorType::Auth, "forbidden", "not your username");
  // §3.3: an empty password never replaces the current one.
  if (password->text().empty()) return iq.error("not-acceptable", "the password is empty");
  std::string why;
  auto prepped = prepare_password(password->text(), config.min_password_length, why);
  if (!prepped) return iq.error("not-acceptable", why);

  Jid account = iq.from().bare();
  unsigned iterations = iq.server().config().c2s.scram_iterations;
  iq.server().db().post(account.str(), [iq, account, password = std::move(*prepped),
                                        iterations](storage::Connection& c) {
    try {
      if (!storage::AccountStore(c).set_credentials(account, sasl::derive(password, iterations)))
        return iq.error("registration-required");
      PLOG(Info, "register") << "password of " << account.str() << " changed";
      iq.reply();
    } catch (const std::exception& e) {
      PLOG(Warn, "register") << "password change of " << account.str() << " failed: " << e.what();
      iq.error("internal-server-error");
    }
  });
}

void account_set(const std::shared_ptr<State>& state, const IqRequest& iq) {
  if (!own_account(iq)) return iq.error("service-unavailable");
  if (iq.payload().child("remove")) {
    // §3.2: <remove/> must be the only child.
    if (child_count(iq.payload()) != 1) return iq.error("bad-request");
    if (!state->config.allow_remove) return iq.error("not-allowed");
    return remove_account(iq);
  }
  change_password(state, iq);
}

struct Register {
  using Config = Options;

  Register(ModuleContext& ctx, const Config& config) {
    auto state = std::make_shared<State>(config);
    ctx.on<UnauthenticatedIq>(priority::kNormal,
                              [state](UnauthenticatedIq& e) { return unauthenticated(state, e); });
    if (config.allow_registration)
      ctx.stream_feature(StreamStage::PreAuth, xml::Element("register", kStreamFeatureNs));

    // Sent to the server (XEP-0077 examples) or with no 'to' (the account itself); the host
    // registration advertises jabber:iq:register (§ Determining Support).
    auto set = [state](const IqRequest& iq) { account_set(state, iq); };
    ctx.iq(kRegisterNs, "query", IqType::Get, IqScope::Host, registered);
    ctx.iq(kRegisterNs, "query", IqType::Set, IqScope::Host, set);
    ctx.iq(kRegisterNs, "query", IqType::Get, IqScope::Self, registered, /*advertise=*/false);
    ctx.iq(kRegisterNs, "query", IqType::Set, IqScope::Self, set, /*advertise=*/false);
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Register)
