// A bound session without a connection, for unit tests of what reaches clients: it records
// what is handed to it. With a server, delivery passes StanzaToClient first, as in c2s, so the
// modules that hold or drop stanzas on their way to a client (client state indication,
// blocking) apply.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "core/server.h"
#include "router/session.h"
#include "router/stanza_events.h"

namespace parley::testing {

class FakeSession : public Session {
 public:
  using Stanza = std::shared_ptr<const xml::Element>;

  explicit FakeSession(const std::string& jid, Server* server = nullptr) : server_(server) {
    jid_ = *Jid::parse(jid);
  }

  void deliver(Stanza stanza) override {
    std::vector<Stanza> out;
    if (server_ && server_->hooks().has_handlers<StanzaToClient>()) {
      StanzaToClient e{*server_, shared_from_this(), stanza};
      Fired f = server_->hooks().fire(e);
      out = std::move(e.release);
      if (!f.stopped) out.push_back(std::move(stanza));
    } else {
      out.push_back(std::move(stanza));
    }
    std::lock_guard lock(mutex_);
    for (auto& s : out) got_.push_back(std::move(s));
  }
  // Recorded like deliver(), as the stanza with its 'to' (the bytes are not kept).
  void deliver_serialized(Stanza shared, std::string) override {
    std::vector<Stanza> out;
    if (server_ && server_->hooks().has_handlers<StanzaToClient>()) {
      StanzaToClient e{*server_, shared_from_this(), shared};
      e.shared = true;
      Fired f = server_->hooks().fire(e);
      out = std::move(e.release);
      if (!f.stopped) out.push_back(e.addressed());
    } else {
      auto copy = std::make_shared<xml::Element>(*shared);
      copy->set("to", jid_.str());
      out.push_back(std::move(copy));
    }
    std::lock_guard lock(mutex_);
    for (auto& s : out) got_.push_back(std::move(s));
  }
  void deliver_bytes(std::shared_ptr<const std::string> bytes) override {
    std::lock_guard lock(mutex_);
    bytes_.push_back(*bytes);
  }
  void close(std::string_view, std::string_view) override {}
  std::string remote_address() const override { return "192.0.2.1"; }
  bool secure() const override { return true; }

  // What was delivered since the last call, as sent (the same objects) ...
  std::vector<Stanza> take_stanzas() {
    std::lock_guard lock(mutex_);
    return std::exchange(got_, {});
  }
  // ... or as copies.
  std::vector<xml::Element> take() {
    std::vector<xml::Element> out;
    for (auto& s : take_stanzas()) out.push_back(*s);
    return out;
  }
  std::vector<std::string> take_bytes() {
    std::lock_guard lock(mutex_);
    return std::exchange(bytes_, {});
  }
  // XEP-0198 resumption: this session takes over the old one's state.
  void resume_from(Session& old) { take_state_from(old); }

 private:
  Server* server_;
  std::mutex mutex_;
  std::vector<Stanza> got_;
  std::vector<std::string> bytes_;
};

}  // namespace parley::testing
