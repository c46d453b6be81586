// A bound local client session as the rest of the server sees it. The c2s implementation lives
// in c2s/; routing, IM and modules only use this thread-safe interface. Every method may be
// called from any thread; the implementation posts to the session's strand.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <utility>

#include "jid/jid.h"
#include "xml/element.h"

namespace parley {

class Session : public std::enable_shared_from_this<Session> {
 public:
  virtual ~Session() = default;

  // The full JID; set once when the resource is bound, never changed afterwards.
  const Jid& jid() const { return jid_; }

  // Queue a stanza for this client. The session serializes it with the stream's namespace.
  virtual void deliver(std::shared_ptr<const xml::Element> stanza) = 0;
  // Queue bytes serialized once for many recipients (fan-out), already in jabber:client form.
  virtual void deliver_bytes(std::shared_ptr<const std::string> bytes) = 0;
  // Queue one recipient's copy of a stanza serialized once for many (MUC fan-out, DESIGN §3):
  // `shared` is the form every recipient gets, without 'to' (StanzaToClient handlers see it,
  // flagged `shared`); `bytes` is this client's copy, jabber:client form with its 'to'.
  virtual void deliver_serialized(std::shared_ptr<const xml::Element> shared,
                                  std::string bytes) = 0;
  // Send a stream error (RFC 6120 §4.9) and close, e.g. "conflict", "system-shutdown".
  virtual void close(std::string_view condition, std::string_view text = {}) = 0;
  virtual std::string remote_address() const = 0;
  virtual bool secure() const = 0;

  // RFC 6121 presence state, readable from any thread.
  std::atomic<int> priority{0};
  std::atomic<bool> available{false};   // initial presence sent, no unavailable since
  std::atomic<bool> interested{false};  // roster requested: gets roster pushes (RFC 6121 §2.1.6)
  // The connection is gone and the session waits for the client to resume it (XEP-0198 §5):
  // stanzas for it are kept, not sent.
  std::atomic<bool> detached{false};
  std::chrono::steady_clock::time_point bound_at = std::chrono::steady_clock::now();

  // The last broadcast available presence (for probes and newly added contacts).
  std::shared_ptr<const xml::Element> presence() const {
    std::lock_guard lock(presence_mutex_);
    return presence_;
  }
  void set_presence(std::shared_ptr<const xml::Element> p) {
    std::lock_guard lock(presence_mutex_);
    presence_ = std::move(p);
  }
  // Directed presence (RFC 6121 §4.6): JIDs that got an available presence from this session
  // outside the roster; they get unavailable when the session goes away.
  void add_directed(const Jid& to) {
    std::lock_guard lock(presence_mutex_);
    directed_.insert(to);
  }
  void remove_directed(const Jid& to) {
    std::lock_guard lock(presence_mutex_);
    directed_.erase(to);
  }
  std::set<Jid> take_directed() {
    std::lock_guard lock(presence_mutex_);
    return std::exchange(directed_, {});
  }

  // Per-session state of a feature (carbons enabled, blocklist requested, ...), one slot per
  // type, created on first use. It lives as long as the session, and moves with it when a
  // stream management resumption (XEP-0198) hands the session to a new connection.
  template <class T>
  std::shared_ptr<T> state() {
    std::lock_guard lock(presence_mutex_);
    auto& slot = extensions_[typeid(T)];
    if (!slot) slot = std::make_shared<T>();
    return std::static_pointer_cast<T>(slot);
  }
  // The slot if it was created, else null (no allocation).
  template <class T>
  std::shared_ptr<T> find_state() const {
    std::lock_guard lock(presence_mutex_);
    auto it = extensions_.find(typeid(T));
    return it == extensions_.end() ? nullptr : std::static_pointer_cast<T>(it->second);
  }

 protected:
  Jid jid_;

 private:
  mutable std::mutex presence_mutex_;
  std::shared_ptr<const xml::Element> presence_;
  std::set<Jid> directed_;
  std::unordered_map<std::type_index, std::shared_ptr<void>> extensions_;

 protected:
  // Resumption: the new connection takes over the old session's IM state (c2s only).
  void take_state_from(Session& old) {
    std::scoped_lock lock(presence_mutex_, old.presence_mutex_);
    presence_ = std::move(old.presence_);
    directed_ = std::move(old.directed_);
    extensions_ = std::move(old.extensions_);
    priority = old.priority.load();
    available = old.available.load();
    interested = old.interested.load();
    bound_at = old.bound_at;
  }
};

using SessionPtr = std::shared_ptr<Session>;

}  // namespace parley
