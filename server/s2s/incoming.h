// A stream another server opened to us (RFC 6120 §4 as the receiving entity): STARTTLS, then
// the peer authenticates the domains it speaks for, with SASL EXTERNAL when its certificate
// proves the domain (XEP-0178) or with Server Dialback (XEP-0220, verified by asking the
// domain's authoritative server). The same stream answers dialback verification requests about
// keys we gave out (the authoritative role). Stanzas whose 'from' is not an authenticated
// domain end the stream; the rest go to the router.
#pragma once

#include <chrono>
#include <set>
#include <string>

#include "s2s/link.h"
#include "s2s/protocol.h"
#include "s2s/tls.h"

namespace parley::s2s {

class IncomingLink final : public Link {
 public:
  IncomingLink(S2s& s2s, boost::asio::ip::tcp::socket socket, bool direct_tls);
  void start();
  // Any thread. A stanza for the peer over this stream (XEP-0288), or, once it is closing,
  // over a link of its own.
  void enqueue(std::shared_ptr<const xml::Element> stanza);

 private:
  std::shared_ptr<IncomingLink> me() {
    return std::static_pointer_cast<IncomingLink>(shared_from_this());
  }
  void on_open(const xml::Element& header, std::string_view default_ns) override;
  void on_element(std::unique_ptr<xml::Element> element) override;
  void on_closed(std::string_view reason) override;
  std::string fallback_header() const override;
  void send_features();
  void handle_starttls();
  void begin_tls();
  void handle_auth(const xml::Element& auth);
  void handle_result(const DialbackElement& request);
  void handle_verify(const DialbackElement& request);
  void result_verified(const DialbackElement& request, bool valid);
  void handle_stanza(std::unique_ptr<xml::Element> stanza);
  bool authenticate(const std::string& remote, std::string_view how);
  bool encryption_ok() const;
  void arm_idle();

  const bool direct_tls_;
  std::string stream_id_;
  std::string local_;  // the stream's 'to'
  std::string peer_;   // the stream's 'from' (may be empty: RFC 6120 §4.7.1 says SHOULD)
  bool stream_open_ = false;
  bool sasl_done_ = false;
  bool bidi_ = false;  // the peer asked for both directions on this stream (XEP-0288)
  PeerCertificate cert_;
  bool cert_read_ = false;
  std::set<std::string, std::less<>> authenticated_;       // remote domains
  std::set<std::pair<std::string, std::string>> pending_;  // (to, from) being verified
  std::chrono::steady_clock::time_point last_activity_;
};

}  // namespace parley::s2s
