// A stream we open to another server (RFC 6120 §4 as the initiating entity) for one pair of
// domains, ours and theirs: resolve (a static route, or SRV / A / AAAA), connect to the
// endpoints in order, STARTTLS (or XEP-0368 direct TLS), authenticate with SASL EXTERNAL when
// the peer offers it and with Server Dialback otherwise. Stanzas wait in order until the link
// is ready and bounce if it never is. The link also carries dialback verification requests
// (XEP-0220 §2.2) for streams the peer's domain opened to us.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "s2s/link.h"
#include "s2s/protocol.h"
#include "s2s/resolver.h"
#include "s2s/tls.h"

namespace parley::s2s {

class OutgoingLink final : public Link {
 public:
  // `socket` is not open yet; it lives on a fresh strand.
  OutgoingLink(S2s& s2s, boost::asio::ip::tcp::socket socket, std::string local,
               std::string remote);
  void start();
  // Any thread. A stanza from `local` to `remote`.
  void enqueue(std::shared_ptr<const xml::Element> stanza);
  // Any thread. Asks the peer (as the authoritative server) about a key; done(valid) once.
  void verify(DialbackElement request, std::function<void(bool)> done);

  const std::string& local() const { return local_; }
  const std::string& remote() const { return remote_domain_; }

 private:
  enum class State { Resolving, Connecting, Negotiating, Ready, Failed };
  std::shared_ptr<OutgoingLink> me() {
    return std::static_pointer_cast<OutgoingLink>(shared_from_this());
  }
  void resolved(std::vector<Endpoint> endpoints, std::string error);
  void try_connect();
  void on_connected();
  // TLS as the client (`direct`: XEP-0368, right after connecting); then our stream header.
  void begin_tls(bool direct);
  void open_stream();
  void on_open(const xml::Element& header, std::string_view default_ns) override;
  void on_element(std::unique_ptr<xml::Element> element) override;
  void on_closed(std::string_view reason) override;
  void handle_features(const xml::Element& features);
  void start_dialback();
  void send_verifies();
  void ready(std::string_view how);
  // Bounces everything queued with `condition` and ends the link.
  void fail(std::string_view condition, std::string_view why);
  void write_stanza(const xml::Element& stanza);
  void handle_stanza(std::unique_ptr<xml::Element> stanza);
  void arm_idle();
  // Leaves the link table: stanzas from now on take a new link. Once.
  void detach();

  const std::string local_;
  const std::string remote_domain_;
  State state_ = State::Resolving;
  std::vector<Endpoint> endpoints_;
  size_t next_endpoint_ = 0;
  std::string connect_errors_;
  bool direct_tls_ = false;
  bool header_received_ = false;
  bool legacy_ = false;  // a peer without stream features (version < 1.0)
  bool starttls_sent_ = false;
  bool detached_ = false;
  bool peer_error_ = false;
  bool bidi_ = false;  // XEP-0288: the peer may send its stanzas back on this stream  // the peer
                       // ended the stream with an error
  bool sasl_tried_ = false;
  bool sasl_done_ = false;
  bool dialback_sent_ = false;
  bool verifies_open_ = false;  // the stream is far enough along to carry <db:verify/>
  std::string stream_id_;
  PeerCertificate cert_;
  bool peer_verified_ = false;  // its certificate proves `remote_`
  std::deque<std::shared_ptr<const xml::Element>> queue_;
  struct PendingVerify {
    DialbackElement request;
    std::function<void(bool)> done;  // idempotent (S2s::verify bounds it in time)
    std::chrono::steady_clock::time_point asked;
    bool sent = false;
  };
  boost::asio::steady_timer attempt_timer_;
  std::vector<PendingVerify> verifies_;
  std::chrono::steady_clock::time_point last_activity_;
};

}  // namespace parley::s2s
