#include "sm_client.h"

#include <algorithm>

namespace parley::it {

namespace {

bool is_stanza(const Node& n) {
  return n.ns == kNsClient && (n.name == "message" || n.name == "presence" || n.name == "iq");
}

}  // namespace

SmClient::SmClient(uint16_t port, bool direct_tls)
    : raw_(std::make_unique<RawClient>(port)), direct_tls_(direct_tls) {}

bool SmClient::open(const std::string& user, const std::string& password) {
  if (!raw_->connected()) return false;
  if (direct_tls_) {
    TlsOptions tls;
    tls.sni = kHost;
    tls.alpn = {"xmpp-client"};
    if (!raw_->tls_handshake(tls) || !raw_->open_stream()) return false;
  } else if (!raw_->starttls()) {
    return false;
  }
  if (!raw_->auth_scram("SCRAM-SHA-256", user, password).success) return false;
  return raw_->open_stream().has_value();
}

std::string SmClient::login(const std::string& user, const std::string& password,
                            const std::string& resource) {
  if (!open(user, password)) return {};
  return raw_->bind(resource);
}

std::optional<Node> SmClient::enable(bool resume, const std::string& max) {
  std::string e = "<enable xmlns='urn:xmpp:sm:3'";
  if (resume) e += " resume='true'";
  if (!max.empty()) e += " max='" + max + "'";
  raw_->send(e + "/>");
  auto n = wait_for(
      [](const Node& x) { return x.ns == kNsSm && (x.name == "enabled" || x.name == "failed"); });
  if (n && n->name == "enabled") {
    sm_id_ = n->attr("id");
    sent_ = acked_ = handled_ = 0;  // §4: both counters start at <enable/> / <enabled/>
  }
  return n;
}

std::optional<Node> SmClient::resume(const std::string& user, const std::string& password,
                                     const std::string& previd, uint32_t h) {
  if (!open(user, password)) return std::nullopt;
  raw_->send("<resume xmlns='urn:xmpp:sm:3' previd='" + previd + "' h='" + std::to_string(h) +
             "'/>");
  auto n = wait_for(
      [](const Node& x) { return x.ns == kNsSm && (x.name == "resumed" || x.name == "failed"); });
  if (n && n->name == "resumed") {
    sm_id_ = previd;
    handled_ = h;
    sent_ = acked_ = static_cast<uint32_t>(std::stoul(n->attr("h")));
  }
  return n;
}

void SmClient::send_stanza(const std::string& xml) {
  ++sent_;
  std::string id;
  auto pos = xml.find(" id='");
  if (pos != std::string::npos) id = xml.substr(pos + 5, xml.find('\'', pos + 5) - pos - 5);
  outstanding_.emplace_back(sent_, id);
  raw_->send(xml);
}

void SmClient::request_ack() {
  raw_->send("<r xmlns='urn:xmpp:sm:3'/>");
}

std::optional<uint32_t> SmClient::wait_acked(uint32_t count, Clock::time_point until) {
  std::optional<uint32_t> last;
  while (static_cast<int32_t>(acked_ - count) < 0) {
    auto n = wait_for([](const Node& x) { return x.is("a", kNsSm); }, until);
    if (!n) return last;
    last = acked_;
  }
  return acked_;
}

std::vector<std::string> SmClient::unacked_ids() const {
  std::vector<std::string> out;
  for (const auto& [seq, id] : outstanding_)
    if (static_cast<int32_t>(seq - acked_) > 0) out.push_back(id);
  return out;
}

void SmClient::handle(const Node& n) {
  if (is_stanza(n)) {
    ++handled_;
    received_.push_back(n);
  } else if (n.is("r", kNsSm)) {
    ++ack_requests_;
    if (auto_ack_) send_ack();
  } else if (n.is("a", kNsSm)) {
    acked_ = static_cast<uint32_t>(std::stoul(n.attr("h")));
    outstanding_.erase(
        std::remove_if(outstanding_.begin(), outstanding_.end(),
                       [&](const auto& o) { return static_cast<int32_t>(o.first - acked_) <= 0; }),
        outstanding_.end());
  }
}

std::optional<Node> SmClient::wait_for(const std::function<bool(const Node&)>& pred,
                                       Clock::time_point until) {
  while (auto n = raw_->next_element(until)) {
    handle(*n);
    if (pred(*n)) return n;
  }
  return std::nullopt;
}

void SmClient::drain(Clock::time_point until) {
  while (auto n = raw_->next_element(until)) handle(*n);
}

}  // namespace parley::it
