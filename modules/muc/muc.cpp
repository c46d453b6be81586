// XEP-0045 Multi-User Chat as a service on a domain of its own (groups.<host> by default), with
// XEP-0421 occupant ids, XEP-0359 stanza ids on room messages and XEP-0410 self-pings. This
// file is the module: the service's disco and ping (§6.1-§6.3), room creation policy (§10.1),
// and the registry of rooms, each an actor on its own strand (DESIGN §2). The XEP's rules for
// one room are in room.cpp and admin.cpp.
#include <openssl/rand.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/log.h"
#include "core/metrics.h"
#include "core/module.h"
#include "events.h"
#include "modules/mam/service.h"
#include "room.h"
#include "room_store.h"
#include "router/registry.h"
#include "router/router.h"
#include "router/stanza_events.h"
#include "xep/disco.h"
#include "xep/stanza_id.h"
#include "xml/stanza.h"

namespace parley {
namespace {

namespace asio = boost::asio;
using muc::Room;

enum class CreatePolicy { Anyone, Admins, Local };

// A room and its strand. `room` is touched only on `strand`: empty while the room is being
// looked up in the store (stanzas wait in `waiting`, in order), and after the lookup when no
// such room exists. `listed` and `name` are a snapshot for the service's disco#items, read
// under the registry's mutex.
struct RoomActor {
  RoomActor(asio::io_context& io, Jid j) : strand(asio::make_strand(io)), jid(std::move(j)) {}
  asio::strand<asio::io_context::executor_type> strand;
  const Jid jid;
  std::optional<Room> room;
  bool loading = true;
  struct Waiting {
    std::shared_ptr<xml::Element> stanza;
    Jid from, to;
  };
  std::vector<Waiting> waiting;
  bool dead = false;  // on the strand: dropped from the registry, stanzas go round again
  std::chrono::steady_clock::time_point used = std::chrono::steady_clock::now();  // on the strand
  bool listed = false;
  std::string name;
};

// Persistent rooms' durable state (room_store.h), written on the room's database worker so
// that the writes for one room keep their order.
class StoredRooms : public muc::Persistence {
 public:
  explicit StoredRooms(Server& server) : server_(server) {}
  void save(const muc::StoredRoom& room) override {
    write(room.jid, [room](muc::RoomStore& s) { s.save(room); });
  }
  void set_affiliation(const Jid& room, const muc::AffiliationEntry& entry) override {
    write(room, [room, entry](muc::RoomStore& s) { s.set_affiliation(room, entry); });
  }
  void remove(const Jid& room) override {
    write(room, [room](muc::RoomStore& s) { s.remove(room); });
  }

 private:
  template <class Fn>
  void write(const Jid& room, Fn fn) {
    server_.db().post(room.str(), [room, fn = std::move(fn)](storage::Connection& c) {
      try {
        muc::RoomStore store(c);
        fn(store);
      } catch (const std::exception& e) {
        PLOG(Error, "muc") << "storing room " << room.str() << " failed: " << e.what();
      }
    });
  }
  Server& server_;
};

// Rooms' archives in the mam module's store (mam/service.h).
class RoomArchives : public muc::Archive {
 public:
  RoomArchives(Server& server, std::shared_ptr<mam::ArchiveService> archive)
      : server_(server), archive_(std::move(archive)) {}
  std::string append(const Jid& room, const Jid& occupant, const xml::Element& message) override {
    return archive_->append(room, occupant, message);
  }
  void serve(const Jid& room, const xml::Element& iq, const Jid& from) override {
    archive_->serve(IqRequest(server_, std::make_shared<xml::Element>(iq), from, room, nullptr));
  }
  void remove(const Jid& room) override { archive_->remove_all(room); }
  void retract(const Jid& room, const std::string& id, const Jid& by, Tombstone tombstone,
               std::function<void(Retraction)> done) override {
    using M = mam::ArchiveService::Retraction;
    archive_->retract(room, id, by.bare().str(), std::move(tombstone),
                      [done = std::move(done)](M r) {
                        if (!done) return;
                        done(r == M::Done       ? Retraction::Done
                             : r == M::NotFound ? Retraction::NotFound
                             : r == M::Refused  ? Retraction::Refused
                                                : Retraction::Failed);
                      });
  }

 private:
  Server& server_;
  std::shared_ptr<mam::ArchiveService> archive_;
};

// XEP-0421 §4: an occupant id stays the same for the same user in the same room, across
// restarts too, so the key it is derived from is kept in the data directory.
std::string occupant_id_secret(const std::string& data_dir) {
  namespace fs = std::filesystem;
  const fs::path path = fs::path(data_dir) / "muc-occupant-id.key";
  std::string secret(32, '\0');
  if (std::ifstream in(path, std::ios::binary); in) {
    in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
    if (in.gcount() == static_cast<std::streamsize>(secret.size())) return secret;
  }
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32) != 1)
    throw std::runtime_error("muc: RAND_bytes failed");
  fs::create_directories(path.parent_path());
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(secret.data(), static_cast<std::streamsize>(secret.size()));
    if (!out) throw std::runtime_error("muc: cannot write " + tmp.string());
  }
  ::chmod(tmp.c_str(), 0600);
  fs::rename(tmp, path);
  return secret;
}

struct Service {
  explicit Service(Server& s) : server(s) {}
  Server& server;
  muc::ServiceOptions options;
  CreatePolicy create = CreatePolicy::Local;
  std::string secret;  // XEP-0421 occupant ids (random per start until rooms are stored)
  // Durable state (room_store.h) goes through here; null until the store is wired.
  std::shared_ptr<muc::Persistence> persistence;
  std::shared_ptr<muc::Archive> archive;     // rooms' XEP-0313 archives (the mam module)
  std::shared_ptr<mam::ArchiveService> mam;  // the same, for the history of a room loaded again
  std::chrono::milliseconds idle_unload{0};  // 0 = persistent rooms stay loaded
  Metric* loaded_rooms = nullptr;            // gauge: rooms in memory
  Metric* unloaded_rooms = nullptr;          // counter: idle persistent rooms unloaded

  std::mutex mutex;  // the registry; never held while a room runs or anything is routed
  std::unordered_map<std::string, std::shared_ptr<RoomActor>> rooms;  // by room bare JID

  bool may_create(const Jid& who) const {
    switch (create) {
      case CreatePolicy::Anyone:
        return true;
      case CreatePolicy::Admins:
        return server.is_admin(who.bare());
      case CreatePolicy::Local:
        return server.is_local(who.domain());
    }
    return false;
  }

  // The actor for `room`, and whether this call created it (then the caller loads it).
  std::pair<std::shared_ptr<RoomActor>, bool> actor_for(const Jid& room) {
    std::lock_guard lock(mutex);
    auto& slot = rooms[room.str()];
    if (slot) return {slot, false};
    slot = std::make_shared<RoomActor>(server.io(), room);
    if (loaded_rooms) loaded_rooms->set(static_cast<int64_t>(rooms.size()));
    return {slot, true};
  }

  void drop(const Jid& room, const std::shared_ptr<RoomActor>& actor) {
    std::lock_guard lock(mutex);
    auto it = rooms.find(room.str());
    if (it != rooms.end() && it->second == actor) rooms.erase(it);
    if (loaded_rooms) loaded_rooms->set(static_cast<int64_t>(rooms.size()));
  }

  void reply(const xml::Element& iq, std::optional<xml::Element> payload = std::nullopt) {
    server.router().route(payload ? stanza::iq_result(iq, std::move(*payload))
                                  : stanza::iq_result(iq));
  }

  // §6.1-§6.3: the service itself.
  static constexpr int64_t kMaxListed = 1000;  // rooms in one disco#items answer

  void to_service(const std::shared_ptr<xml::Element>& st, const Jid& to) {
    if (st->name() == "message") {
      if (st->get("type") != "error") server.router().bounce(*st, "service-unavailable");
      return;
    }
    if (st->name() != "iq") return;  // presence to the service: nothing to do
    auto type = st->get("type");
    if (type != "get" && type != "set") return;
    const auto* q = st->first_child();
    namespace disco = xep::disco;
    if (q && type == "get" && q->xmlns() == disco::kInfoNs && q->name() == "query") {
      if (q->has("node")) return server.router().bounce(*st, "item-not-found");
      disco::Info info;
      info.identities.push_back({"conference", "text", "Chatrooms"});
      info.features = {std::string(muc::kMucNs), std::string(disco::kInfoNs),
                       std::string(disco::kItemsNs), std::string(muc::kPingNs),
                       std::string(muc::kOccupantIdNs)};
      return reply(*st, disco::to_element(info));
    }
    if (q && type == "get" && q->xmlns() == disco::kItemsNs && q->name() == "query") {
      if (q->has("node")) return server.router().bounce(*st, "item-not-found");
      // §6.3: the public rooms, those in memory (temporary ones only live there) and those
      // in the store that are not loaded.
      std::map<std::string, std::string> listed;
      {
        std::lock_guard lock(mutex);
        for (const auto& [jid, actor] : rooms)
          if (actor->listed && Jid::parse(jid)->domain() == to.domain()) listed[jid] = actor->name;
      }
      const std::string service(to.domain());
      Server& srv = server;  // outlives the module; the service may not outlive this job
      return srv.db().post(
          service, [&srv, st, service, listed = std::move(listed)](storage::Connection& c) mutable {
            try {
              for (auto& r : muc::RoomStore(c).public_rooms(service, kMaxListed))
                listed.emplace(r.jid.str(), r.name);
            } catch (const std::exception& e) {
              PLOG(Error, "muc") << "listing the rooms of " << service << " failed: " << e.what();
              return srv.router().bounce(*st, "internal-server-error");
            }
            disco::Items items;
            for (auto& [jid, name] : listed) items.items.push_back({jid, "", name});
            srv.router().route(stanza::iq_result(*st, disco::to_element(items)));
          });
    }
    if (q && type == "get" && q->xmlns() == muc::kPingNs && q->name() == "ping")
      return reply(*st);  // XEP-0199 §4.3
    server.router().bounce(*st, "service-unavailable");
  }

  // Rooms load on first use: the first stanza for a room not in memory looks it up in the
  // store on the room's worker, and what arrives meanwhile waits in order.
  void dispatch(std::shared_ptr<xml::Element> st, const Jid& from, const Jid& to,
                const std::shared_ptr<Service>& self) {
    if (!to.has_local()) return to_service(st, to);
    const Jid room = to.bare();
    auto [actor, created] = actor_for(room);
    if (created) load(room, actor, self);
    asio::post(actor->strand, [self, actor, st = std::move(st), from, to]() mutable {
      if (actor->dead) return self->dispatch(std::move(st), from, to, self);
      if (actor->loading) {
        actor->waiting.push_back({std::move(st), from, to});
        return;
      }
      self->run(*actor, actor, std::move(st), from, to);
    });
  }

  void load(const Jid& room, const std::shared_ptr<RoomActor>& actor,
            const std::shared_ptr<Service>& self) {
    server.db().post(room.str(), [self, actor, room](storage::Connection& c) {
      std::optional<muc::StoredRoom> stored;
      try {
        stored = muc::RoomStore(c).load(room);
      } catch (const std::exception& e) {
        PLOG(Error, "muc") << "loading room " << room.str() << " failed: " << e.what();
      }
      // The join history of an archived room comes back from its archive (the room may have
      // been unloaded while idle, or the server restarted), read after this on the same worker.
      const size_t want = stored ? self->history_to_restore(*stored) : 0;
      if (want == 0) return loaded(self, actor, room, std::move(stored), {});
      self->mam->recent(room, want,
                        [self, actor, room, stored](std::vector<mam::ArchiveService::Recent> r) {
                          loaded(self, actor, room, stored, std::move(r));
                        });
    });
  }

  size_t history_to_restore(const muc::StoredRoom& stored) const {
    auto settings = muc::deserialize(stored.config);
    if (!mam || !settings || !settings->logging) return 0;
    return static_cast<size_t>(
        std::max(0, std::min(settings->history_length, options.max_history)));
  }

  // On the room's database worker: the room goes on on its strand.
  static void loaded(const std::shared_ptr<Service>& self, const std::shared_ptr<RoomActor>& actor,
                     const Jid& room, std::optional<muc::StoredRoom> stored,
                     std::vector<mam::ArchiveService::Recent> recent) {
    {
      asio::post(actor->strand, [self, actor, room, stored = std::move(stored),
                                 recent = std::move(recent)]() mutable {
        if (stored) {
          actor->room.emplace(room, self->options, self->secret, *stored, self->persistence);
          actor->room->set_archive(self->archive);
          actor->room->set_resume(self->resume_for(actor));
          std::vector<muc::HistoryEntry> history;
          for (auto& r : recent) {
            xep::sid::add_stanza_id(*r.message, {r.id, room.str()});
            const size_t chars = r.message->str().size();
            history.push_back({std::move(r.message),
                               muc::SysTime(std::chrono::milliseconds(r.timestamp)), chars});
          }
          actor->room->restore_history(std::move(history));
          PLOG(Debug, "muc") << "loaded room " << room.str();
        }
        actor->used = std::chrono::steady_clock::now();
        actor->loading = false;
        auto waiting = std::move(actor->waiting);
        for (auto& w : waiting) {
          if (actor->dead) {
            self->dispatch(std::move(w.stanza), w.from, w.to, self);
            continue;
          }
          self->run(*actor, actor, std::move(w.stanza), w.from, w.to);
        }
      });
    }
  }

  // On the actor's strand, once it is loaded.
  void run(RoomActor& a, const std::shared_ptr<RoomActor>& actor, std::shared_ptr<xml::Element> st,
           const Jid& from, const Jid& to) {
    if (!a.room) {  // no such room: a join creates it (§10.1.1), anything else is an error
      auto type = st->get("type");
      bool creates =
          st->name() == "presence" && type.empty() && to.has_resource() && may_create(from);
      if (creates) {
        a.room.emplace(to.bare(), options, secret, from, persistence);
        a.room->set_archive(archive);
        a.room->set_resume(resume_for(actor));
      } else {
        retire(a, actor);
        if (st->name() == "presence") {
          if (!type.empty()) return;  // unavailable or error to a room that is gone
          if (!to.has_resource())
            return server.router().bounce(*st, "jid-malformed", "A nickname is required");
          return server.router().bounce(*st, "not-allowed", "You may not create rooms here");
        }
        if (stanza::is_error(*st) || (st->name() == "iq" && type != "get" && type != "set")) return;
        return server.router().bounce(*st, "item-not-found");
      }
    }
    muc::Outbox out;
    a.room->handle(*st, from, out, std::chrono::system_clock::now());
    a.used = std::chrono::steady_clock::now();
    if (!a.room->alive()) {
      retire(a, actor);
    } else {
      std::lock_guard lock(mutex);
      a.listed = a.room->listed();
      a.name = a.room->settings().name;
    }
    send_all(server, a.jid, out);
  }

  // What a room sent, in order; its broadcasts through fan_out().
  // A copy for a member who is not joined first fires GroupMessageForAbsentMember.
  static void send_all(Server& server, const Jid& room, muc::Outbox& out) {
    for (auto& e : out.entries()) {
      if (!e.stanza) {
        fan_out(server, room, e);
        continue;
      }
      if (for_absent_member(room, *e.stanza) && !notify_absent_member(server, room, e.stanza))
        continue;
      server.router().route(std::move(e.stanza));
    }
  }

  // The room sends groupchat to a bare JID only as the copy for a member who is not joined
  // (Room::to_absent_members); everything else it sends an occupant goes to a full JID.
  static bool for_absent_member(const Jid& room, const xml::Element& s) {
    if (s.name() != "message" || s.get("type") != "groupchat") return false;
    auto to = Jid::parse(s.get("to"));
    return to && !to->has_resource() && to->has_local() && to->bare() != room;
  }

  // muc::GroupMessageForAbsentMember (events.h); false when a handler stopped the copy.
  static bool notify_absent_member(Server& server, const Jid& room,
                                   const std::shared_ptr<xml::Element>& s) {
    muc::GroupMessageForAbsentMember e{server, room, Jid::parse(s->get("to"))->bare(), s};
    return !server.hooks().fire(e).stopped;
  }

  // The rooms in memory now, taken under the registry's lock (which is not held while a
  // room runs).
  std::vector<std::shared_ptr<RoomActor>> rooms_in_memory() {
    std::vector<std::shared_ptr<RoomActor>> all;
    std::lock_guard lock(mutex);
    all.reserve(rooms.size());
    for (const auto& [jid, actor] : rooms) all.push_back(actor);
    return all;
  }

  // Server shutdown: every loaded room tells its occupants (332) before they are disconnected;
  // `hold` keeps the disconnection waiting until each room has sent that.
  void shutdown(const std::shared_ptr<const void>& hold, const std::shared_ptr<Service>& self) {
    const auto all = rooms_in_memory();
    for (auto& actor : all)
      asio::post(actor->strand, [self, actor, hold] {
        if (actor->dead || !actor->room) return;
        muc::Outbox out;
        actor->room->shutdown(out);
        send_all(self->server, actor->jid, out);
      });
  }

  // Persistent rooms nobody is in leave memory after `idle_unload` without a stanza; their
  // state is in the store (written as it changed) and their history in their archive, so the
  // next stanza loads them as they were. The check runs on each room's strand.
  void unload_idle(const std::shared_ptr<Service>& self) {
    if (idle_unload.count() <= 0) return;
    const auto all = rooms_in_memory();
    const auto before = std::chrono::steady_clock::now() - idle_unload;
    for (auto& actor : all)
      asio::post(actor->strand, [self, actor, before] {
        RoomActor& a = *actor;
        if (a.dead || a.loading || !a.room || !a.waiting.empty() || a.used > before) return;
        const Room& r = *a.room;
        if (!r.alive() || !r.settings().persistent || r.locked() || r.occupant_count() > 0) return;
        self->retire(a, actor);
        if (self->unloaded_rooms) self->unloaded_rooms->inc();
        PLOG(Debug, "muc") << "unloaded idle room " << a.jid.str();
      });
  }

  // A room's broadcast (room.h, Outbox): serialized once, and each recipient that is a local
  // session gets those bytes with its own 'to' spliced in, handed straight to the session
  // (DESIGN §3). That skips the router's per-recipient MessageToFull / PresenceToFull events,
  // which for what a room broadcasts do nothing but deliver:
  //   - mam archives no groupchat in users' archives; it strips a groupchat's stanza-ids that
  //     claim the recipient, and a broadcast carrying a stanza-id by anyone but the room takes
  //     the routed path for that (shareable());
  //   - carbons never copy groupchat (XEP-0280 §6.1); im handles only probes and subscription
  //     presence, which rooms do not broadcast;
  //   - blocking (XEP-0191) is still applied: the session fires StanzaToClient with the
  //     shared stanza, and the blocking module's delivery filter drops what comes from a JID
  //     (the room, its domain) the account blocked, with the same list and match. The error
  //     its routed filter would bounce to room/nick is not sent: a room ignores errors to
  //     messages, and presence was dropped silently anyway.
  //   - client state indication sees the stanza (flagged shared) and holds presence as before.
  // A recipient without a local session (it vanished meanwhile, or a remote JID) gets the old
  // per-recipient route() with 'to' set: bounced, ignored or sent on exactly as before.
  static void fan_out(Server& server, const Jid& room, const muc::Outbox::Entry& b) {
    if (!shareable(*b.shared, room)) {
      for (const Jid& to : b.to) route_copy(server, *b.shared, to);
      return;
    }
    const stanza::Serialized form(*b.shared);
    for (const Jid& to : b.to) {
      if (auto session = server.sessions().find(to))
        session->deliver_serialized(b.shared, form.addressed_to(to.str()));
      else
        route_copy(server, *b.shared, to);
    }
  }

  static void route_copy(Server& server, const xml::Element& shared, const Jid& to) {
    auto copy = std::make_shared<xml::Element>(shared);
    copy->set("to", to.str());
    server.router().route(std::move(copy));
  }

  // What the fast path may carry: groupchat messages with no stanza-id but the room's, and
  // available / unavailable presence (see fan_out()).
  static bool shareable(const xml::Element& s, const Jid& room) {
    auto type = s.get("type");
    if (s.name() == "presence") return type.empty() || type == "unavailable";
    if (s.name() != "message" || type != "groupchat") return false;
    for (const auto* id : s.children("stanza-id", xep::sid::kNs))
      if (id->get("by") != room.str()) return false;
    return true;
  }

  // What a room handed off (room.h Later: to its archive) comes back on its strand. Weak: the
  // room holds this, and must not keep its own actor alive.
  muc::Resume resume_for(const std::shared_ptr<RoomActor>& actor) {
    std::weak_ptr<RoomActor> weak = actor;
    Server& srv = server;  // outlives the module
    return [weak, &srv](muc::Later later) {
      auto finish = [&srv](const muc::Later& later, Room* room) {
        muc::Outbox out;
        later(room, out, std::chrono::system_clock::now());
        send_all(srv, room ? room->jid() : Jid(), out);
      };
      auto a = weak.lock();
      if (!a) return finish(later, nullptr);
      asio::post(a->strand, [a, later = std::move(later), finish] {
        finish(later, a->dead || !a->room ? nullptr : &*a->room);
      });
    };
  }

  // The room leaves memory (destroyed, empty and temporary, or never existed); a stanza that
  // arrives for it later starts over with a fresh lookup.
  void retire(RoomActor& a, const std::shared_ptr<RoomActor>& actor) {
    a.dead = true;
    drop(a.jid, actor);
  }
};

struct Muc {
  static std::vector<std::string> depends() { return {"mam"}; }  // the rooms' archives

  struct Config {
    std::string domain;  // "" = groups.<host> for every host
    int max_history = 20;
    int default_history = 20;
    int max_occupants = 1000;
    CreatePolicy create_rooms = CreatePolicy::Local;
    bool archive_by_default = true;
    double flood_rate = 2;  // messages a second, per occupant; 0 = no limit
    int flood_burst = 20;
    muc::PresenceBroadcast presence_broadcast;
    std::chrono::milliseconds idle_unload = std::chrono::minutes(10);

    static Config parse(const ConfigSection& s) {
      Config c;
      c.domain = s.string("domain", "");
      if (!c.domain.empty()) {
        auto d = Jid::prep_domain(c.domain);
        if (!d) throw ConfigError(s.path() + ".domain: not a valid domain");
        c.domain = *d;
      }
      c.max_history = static_cast<int>(s.integer("max_history", 20, 0, 1000));
      c.default_history = static_cast<int>(s.integer("default_history", 20, 0, 1000));
      c.max_occupants = static_cast<int>(s.integer("max_occupants", 1000, 0, 1'000'000));
      c.archive_by_default = s.boolean("archive_by_default", true);
      // A decimal number ("0.5": one message every two seconds).
      const std::string rate = s.string("flood_rate", "2");
      auto [end, ec] = std::from_chars(rate.data(), rate.data() + rate.size(), c.flood_rate);
      if (ec != std::errc() || end != rate.data() + rate.size() || !(c.flood_rate >= 0) ||
          c.flood_rate > 1'000'000)
        throw ConfigError(s.path() + ".flood_rate: expected a number of messages a second, >= 0");
      c.flood_burst = static_cast<int>(s.integer("flood_burst", 20, 0, 1'000'000));
      if (s.has("presence_broadcast")) {
        auto b = muc::presence_broadcast_from(s.strings("presence_broadcast"));
        if (!b)
          throw ConfigError(
              s.path() + ".presence_broadcast: expected a list of moderator, participant, visitor");
        c.presence_broadcast = *b;
      }
      c.idle_unload = s.duration("idle_unload", c.idle_unload);
      if (c.idle_unload.count() < 0)
        throw ConfigError(s.path() + ".idle_unload: must not be negative");
      auto create = s.one_of("create_rooms", "local", {"anyone", "admins", "local"});
      c.create_rooms = create == "anyone"   ? CreatePolicy::Anyone
                       : create == "admins" ? CreatePolicy::Admins
                                            : CreatePolicy::Local;
      return c;
    }
  };

  Muc(ModuleContext& ctx, const Config& config) {
    auto service = std::make_shared<Service>(ctx.server());
    service->create = config.create_rooms;
    service->options.max_history = config.max_history;
    service->options.default_history = std::min(config.default_history, config.max_history);
    service->options.max_occupants = config.max_occupants;
    service->secret = occupant_id_secret(ctx.server().config().data_dir);
    service->persistence = std::make_shared<StoredRooms>(ctx.server());
    service->archive =
        std::make_shared<RoomArchives>(ctx.server(), ctx.service<mam::ArchiveService>());
    service->options.archive_by_default = config.archive_by_default;
    service->options.flood_rate = config.flood_rate;
    service->options.flood_burst = config.flood_burst;
    service->options.presence_broadcast = config.presence_broadcast;
    service->mam = ctx.service<mam::ArchiveService>();
    service->idle_unload = config.idle_unload;
    auto& metrics = ctx.server().metrics();
    service->loaded_rooms =
        &metrics.get("parley_muc_rooms_loaded", "", "gauge", "Group chat rooms in memory");
    service->unloaded_rooms = &metrics.get("parley_muc_rooms_unloaded_total", "", "counter",
                                           "Idle persistent rooms unloaded");
    if (config.idle_unload.count() > 0) {
      // Checked a few times per idle period, at most once a minute.
      auto period = std::clamp<std::chrono::milliseconds>(
          config.idle_unload / 4, std::chrono::milliseconds(100), std::chrono::minutes(1));
      ctx.every(period, [service] { service->unload_idle(service); });
    }

    ctx.on<ServerStopping>(priority::kNormal, [service](ServerStopping& e) {
      service->shutdown(e.hold, service);
      return Flow::Continue;
    });

    auto handler = [service](StanzaToComponent& e) {
      service->dispatch(e.stanza, e.from, e.to, service);
    };
    if (!config.domain.empty()) {
      ctx.component(config.domain, handler);
      ctx.disco_item({"", config.domain, "", "Chatrooms"});
    } else {
      for (const auto& host : ctx.server().config().hosts) {
        std::string domain = "groups." + host.domain;
        ctx.component(domain, handler);
        ctx.disco_item({host.domain, domain, "", "Chatrooms"});
      }
    }
  }
};

}  // namespace
}  // namespace parley

PARLEY_MODULE(parley::Muc)
