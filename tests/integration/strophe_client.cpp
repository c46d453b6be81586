#include "strophe_client.h"

#include <sys/socket.h>

#include <strophe.h>

#include <algorithm>
#include <cstdlib>
#include <map>

namespace parley::it {

namespace {

// One libstrophe context for every client of the process (see the header).
struct Library {
  Library() {
    xmpp_initialize();
    const xmpp_log_t* log = std::getenv("PARLEY_IT_STROPHE_DEBUG")
                                ? xmpp_get_default_logger(XMPP_LEVEL_DEBUG)
                                : nullptr;
    ctx = xmpp_ctx_new(nullptr, log);
  }
  ~Library() {
    xmpp_ctx_free(ctx);
    xmpp_shutdown();
  }
  xmpp_ctx_t* ctx;
  std::map<xmpp_conn_t*, StropheClient*> clients;
};

Library& lib() {
  static Library l;
  return l;
}

void conn_handler(xmpp_conn_t*, xmpp_conn_event_t event, int, xmpp_stream_error_t* error,
                  void* userdata) {
  std::string condition;
  if (error && error->stanza) {
    char* buf = nullptr;
    size_t len = 0;
    if (xmpp_stanza_to_text(error->stanza, &buf, &len) == XMPP_EOK) {
      try {
        condition =
            parse_element(std::string(buf, len)).condition("urn:ietf:params:xml:ns:xmpp-streams");
      } catch (const XmlError&) {
      }
      xmpp_free(lib().ctx, buf);
    }
  }
  static_cast<StropheClient*>(userdata)->on_connection(static_cast<int>(event), condition.c_str());
}

int stanza_handler(xmpp_conn_t*, xmpp_stanza_t* stanza, void* userdata) {
  char* buf = nullptr;
  size_t len = 0;
  if (xmpp_stanza_to_text(stanza, &buf, &len) == XMPP_EOK) {
    static_cast<StropheClient*>(userdata)->on_stanza(std::string(buf, len));
    xmpp_free(lib().ctx, buf);
  }
  return 1;  // keep the handler
}

int sockopt_handler(xmpp_conn_t* conn, void* sock) {
  auto it = lib().clients.find(conn);
  if (it != lib().clients.end()) it->second->on_socket(*static_cast<int*>(sock));
  return xmpp_sockopt_cb_keepalive(conn, sock);
}

}  // namespace

std::string bare_of(const std::string& jid) {
  return jid.substr(0, jid.find('/'));
}

std::string resource_of(const std::string& jid) {
  auto slash = jid.find('/');
  return slash == std::string::npos ? std::string() : jid.substr(slash + 1);
}

std::string stanza_error(const Node& stanza) {
  if (stanza.attr("type") != "error") return {};
  const Node* e = stanza.child("error");
  return e ? e->condition("urn:ietf:params:xml:ns:xmpp-stanzas") : std::string();
}

StropheClient::StropheClient(std::string jid, std::string password, uint16_t port,
                             bool stream_management)
    : requested_jid_(std::move(jid)),
      password_(std::move(password)),
      port_(port),
      stream_management_(stream_management) {}

StropheClient::~StropheClient() {
  if (!conn_) return;
  if (state_ == State::Connected || state_ == State::Connecting) disconnect(deadline(3s));
  lib().clients.erase(conn_);
  xmpp_conn_release(conn_);
}

std::string StropheClient::bare() const {
  return bare_of(bound_jid_);
}

bool StropheClient::connect(Clock::time_point until) {
  return connect_resuming(*this, until);
}

bool StropheClient::connect_resuming(StropheClient& old, Clock::time_point until) {
  xmpp_sm_state_t* sm_state =
      &old != this && old.conn_ ? xmpp_conn_get_sm_state(old.conn_) : nullptr;
  conn_ = xmpp_conn_new(lib().ctx);
  lib().clients[conn_] = this;
  xmpp_conn_set_jid(conn_, requested_jid_.c_str());
  xmpp_conn_set_pass(conn_, password_.c_str());
  // The test certificates are self-signed; TLS itself is still mandatory.
  xmpp_conn_set_flags(conn_, XMPP_CONN_FLAG_MANDATORY_TLS | XMPP_CONN_FLAG_TRUST_TLS |
                                 (stream_management_ ? 0 : XMPP_CONN_FLAG_DISABLE_SM));
  if (sm_state) xmpp_conn_set_sm_state(conn_, sm_state);
  xmpp_conn_set_sockopt_callback(conn_, sockopt_handler);
  xmpp_handler_add(conn_, stanza_handler, nullptr, nullptr, nullptr, this);
  state_ = State::Connecting;
  if (xmpp_connect_client(conn_, "127.0.0.1", port_, conn_handler, this) != XMPP_EOK) {
    state_ = State::Disconnected;
    return false;
  }
  pump_until([&] { return state_ != State::Connecting; }, until);
  return state_ == State::Connected;
}

void StropheClient::on_connection(int event, const char* condition) {
  if (event == XMPP_CONN_CONNECT) {
    state_ = State::Connected;
    const char* j = xmpp_conn_get_bound_jid(conn_);
    bound_jid_ = j ? j : "";
  } else if (event == XMPP_CONN_DISCONNECT || event == XMPP_CONN_FAIL) {
    state_ = State::Disconnected;
    if (condition && *condition) stream_error_ = condition;
  }
}

void StropheClient::on_stanza(const std::string& text) {
  try {
    received_.push_back(parse_element(text));
    consumed_.push_back(false);
    if (responder_) {
      std::string reply = responder_(received_.back());
      if (!reply.empty()) send(reply);
    }
  } catch (const XmlError& e) {
    Node bad;
    bad.name = "unparsable";
    bad.raw = text;
    received_.push_back(bad);
    consumed_.push_back(false);
  }
}

void StropheClient::send(const std::string& xml) {
  if (conn_ && state_ == State::Connected) xmpp_send_raw(conn_, xml.data(), xml.size());
}

std::string StropheClient::next_id() {
  return "it" + std::to_string(++next_id_);
}

bool StropheClient::has(const std::function<bool(const Node&)>& pred) const {
  for (size_t i = 0; i < received_.size(); ++i)
    if (!consumed_[i] && pred(received_[i])) return true;
  return false;
}

std::optional<Node> StropheClient::wait_for(const std::function<bool(const Node&)>& pred,
                                            Clock::time_point until) {
  std::optional<Node> found;
  size_t scanned = 0;
  pump_until(
      [&] {
        for (; scanned < received_.size(); ++scanned) {
          if (!consumed_[scanned] && pred(received_[scanned])) {
            consumed_[scanned] = true;
            found = received_[scanned];
            return true;
          }
        }
        return false;
      },
      until);
  return found;
}

std::optional<Node> StropheClient::iq(const std::string& xml, Clock::time_point until) {
  std::string id = parse_element(xml).attr("id");
  send(xml);
  return wait_for(
      [&](const Node& n) {
        return n.name == "iq" && n.attr("id") == id &&
               (n.attr("type") == "result" || n.attr("type") == "error");
      },
      until);
}

void StropheClient::disconnect(Clock::time_point until) {
  if (!conn_ || state_ == State::Disconnected) return;
  xmpp_disconnect(conn_);
  wait_disconnected(until);
}

void StropheClient::drop() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
  wait_disconnected(deadline());
}

bool StropheClient::wait_disconnected(Clock::time_point until) {
  return pump_until([&] { return state_ == State::Disconnected; }, until);
}

bool StropheClient::pump_until(const std::function<bool()>& cond, Clock::time_point until) {
  while (!cond()) {
    if (Clock::now() > until) return false;
    xmpp_run_once(lib().ctx, 20);
  }
  return true;
}

}  // namespace parley::it
