// parley-bench: the client state machine (see client.h).
#include "contrib/bench/client.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

#include "core/base64.h"
#include "xml/element.h"

namespace parley::bench {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch())
      .count();
}

// ---- ElementSplitter ----

ElementSplitter::Event ElementSplitter::next(std::string_view& element) {
  for (;;) {
    size_t lt = buf_.find('<', pos_);
    if (lt == std::string::npos) {
      if (start_ == std::string::npos) {  // text between elements (whitespace): drop it
        buf_.clear();
        pos_ = 0;
      }
      return Event::None;
    }
    // Find the end of the tag, skipping '>' inside quoted attribute values.
    char quote = 0;
    size_t gt = std::string::npos;
    for (size_t i = lt + 1; i < buf_.size(); ++i) {
      char c = buf_[i];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '>') {
        gt = i;
        break;
      }
    }
    if (gt == std::string::npos) {  // incomplete tag: keep from the element (or tag) start
      size_t keep = start_ != std::string::npos ? start_ : lt;
      buf_.erase(0, keep);
      if (start_ != std::string::npos) start_ = 0;
      pos_ = lt - keep;
      return Event::None;
    }
    pos_ = gt + 1;
    std::string_view tag(buf_.data() + lt, gt + 1 - lt);
    if (tag.size() >= 2 && tag[1] == '?') continue;  // the XML declaration
    if (tag.size() >= 2 && tag[1] == '/') {
      if (--depth_ <= 0) {  // </stream:stream>
        depth_ = 0;
        return Event::StreamClose;
      }
      if (depth_ == 1 && start_ != std::string::npos) {
        element = std::string_view(buf_.data() + start_, pos_ - start_);
        start_ = std::string::npos;
        return Event::Element;
      }
      continue;
    }
    bool empty = tag.size() >= 2 && tag[tag.size() - 2] == '/';
    if (depth_ == 0) {  // the stream header
      depth_ = 1;
      return Event::StreamOpen;
    }
    if (depth_ == 1) start_ = lt;
    if (empty) {
      if (depth_ == 1) {
        element = std::string_view(buf_.data() + start_, pos_ - start_);
        start_ = std::string::npos;
        return Event::Element;
      }
    } else {
      ++depth_;
    }
    // Compact now and then so the buffer does not grow with the stream.
    if (start_ == std::string::npos && pos_ > 65536) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
  }
}

std::string_view element_name(std::string_view el) {
  if (el.empty() || el[0] != '<') return {};
  size_t end = el.find_first_of(" \t\r\n/>", 1);
  return el.substr(1, end == std::string_view::npos ? std::string_view::npos : end - 1);
}

std::optional<std::string> attribute(std::string_view el, std::string_view name) {
  size_t tag_end = el.find('>');
  std::string_view tag = el.substr(0, tag_end);
  for (size_t at = tag.find(name); at != std::string_view::npos; at = tag.find(name, at + 1)) {
    if (at == 0 || (tag[at - 1] != ' ' && tag[at - 1] != '\t' && tag[at - 1] != '\n')) continue;
    size_t eq = at + name.size();
    while (eq < tag.size() && tag[eq] == ' ') ++eq;
    if (eq >= tag.size() || tag[eq] != '=') continue;
    size_t q = eq + 1;
    while (q < tag.size() && tag[q] == ' ') ++q;
    if (q >= tag.size() || (tag[q] != '\'' && tag[q] != '"')) continue;
    size_t close = tag.find(tag[q], q + 1);
    if (close == std::string_view::npos) return std::nullopt;
    return std::string(tag.substr(q + 1, close - q - 1));
  }
  return std::nullopt;
}

std::optional<std::string> child_text(std::string_view el, std::string_view name) {
  std::string open = "<" + std::string(name);
  size_t at = el.find(open);
  while (at != std::string_view::npos) {
    char c = at + open.size() < el.size() ? el[at + open.size()] : 0;
    if (c == '>' || c == ' ') break;
    at = el.find(open, at + 1);
  }
  if (at == std::string_view::npos) return std::nullopt;
  size_t gt = el.find('>', at);
  if (gt == std::string_view::npos || el[gt - 1] == '/') return std::string();
  size_t end = el.find('<', gt + 1);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(el.substr(gt + 1, end - gt - 1));
}

std::string xml_escape(std::string_view s) {
  std::string out;
  xml::escape_attr(out, s);  // the server's escaper; safe in text and in attribute values
  return out;
}

// ---- SCRAM-SHA-256, client side ----

namespace {

std::string hmac256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

struct DerivedKeys {
  std::string client_key, stored_key, server_key;
};

// RFC 5802 §3: SaltedPassword := Hi(password, salt, i). The generator is single-threaded, so a
// plain map is enough. Keyed by password too, to stay correct if accounts differ.
const DerivedKeys& derived_keys(const std::string& password, const std::string& salt,
                                uint32_t iterations) {
  static std::map<std::tuple<std::string, std::string, uint32_t>, DerivedKeys> cache;
  auto key = std::make_tuple(password, salt, iterations);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  unsigned char salted[SHA256_DIGEST_LENGTH];
  PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                    reinterpret_cast<const unsigned char*>(salt.data()),
                    static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                    sizeof salted, salted);
  std::string sp(reinterpret_cast<char*>(salted), sizeof salted);
  DerivedKeys k;
  k.client_key = hmac256(sp, "Client Key");
  unsigned char stored[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(k.client_key.data()), k.client_key.size(), stored);
  k.stored_key.assign(reinterpret_cast<char*>(stored), sizeof stored);
  k.server_key = hmac256(sp, "Server Key");
  return cache.emplace(std::move(key), std::move(k)).first->second;
}

// "a=1,b=2" attribute lookup in a SCRAM message (RFC 5802 §5.1).
std::optional<std::string> scram_attr(std::string_view msg, char name) {
  size_t pos = 0;
  while (pos < msg.size()) {
    size_t comma = msg.find(',', pos);
    std::string_view part =
        msg.substr(pos, comma == std::string_view::npos ? msg.size() - pos : comma - pos);
    if (part.size() >= 2 && part[0] == name && part[1] == '=') return std::string(part.substr(2));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return std::nullopt;
}

}  // namespace

ScramSha256Client::ScramSha256Client(std::string username, std::string password)
    : username_(std::move(username)), password_(std::move(password)) {}

std::string ScramSha256Client::client_first() {
  unsigned char raw[18];
  RAND_bytes(raw, sizeof raw);
  client_nonce_ = base64_encode(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  // Bench usernames hold no ',' or '=', so the saslname needs no escaping (RFC 5802 §5.1).
  client_first_bare_ = "n=" + username_ + ",r=" + client_nonce_;
  return "n,," + client_first_bare_;
}

std::optional<std::string> ScramSha256Client::client_final(std::string_view server_first) {
  auto nonce = scram_attr(server_first, 'r');
  auto salt_b64 = scram_attr(server_first, 's');
  auto iter_text = scram_attr(server_first, 'i');
  if (!nonce || !salt_b64 || !iter_text || nonce->rfind(client_nonce_, 0) != 0) return std::nullopt;
  auto salt = base64_decode(*salt_b64);
  uint32_t iterations = static_cast<uint32_t>(std::strtoul(iter_text->c_str(), nullptr, 10));
  if (!salt || iterations == 0) return std::nullopt;
  const DerivedKeys& k = derived_keys(password_, *salt, iterations);
  std::string without_proof = "c=biws,r=" + *nonce;  // biws = base64("n,,")
  std::string auth_message =
      client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  std::string signature = hmac256(k.stored_key, auth_message);
  std::string proof = k.client_key;
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ signature[i]);
  server_signature_ = hmac256(k.server_key, auth_message);
  return without_proof + ",p=" + base64_encode(proof);
}

bool ScramSha256Client::verify_server_final(std::string_view server_final) const {
  auto v = scram_attr(server_final, 'v');
  auto decoded = v ? base64_decode(*v) : std::nullopt;
  return decoded && *decoded == server_signature_;
}

// ---- Client ----

asio::ssl::context make_client_tls() {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION);
  ctx.set_verify_mode(asio::ssl::verify_none);
  static const unsigned char alpn[] = "\x0bxmpp-client";
  SSL_CTX_set_alpn_protos(ctx.native_handle(), alpn, sizeof alpn - 1);
  // Like the server, hold no record buffers while a connection is idle.
  SSL_CTX_set_mode(ctx.native_handle(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

Client::Client(asio::io_context& io, asio::ssl::context& tls, const ClientOptions& options,
               std::string username, asio::ip::address source)
    : stream_(io, tls),
      options_(options),
      username_(std::move(username)),
      bare_jid_(username_ + "@" + options.domain),
      source_(source),
      rbuf_(4096) {}

void Client::start(ReadyHandler on_ready) {
  on_ready_ = std::move(on_ready);
  started_at_ = Clock::now();
  state_ = State::Connecting;
  auto& sock = stream_.next_layer();
  boost::system::error_code ec;
  sock.open(options_.server.protocol(), ec);
  if (!ec) {
    // Pick the port at connect() time, per (source, destination): binding the address alone
    // would reserve a port for every socket and run out sooner (IP_BIND_ADDRESS_NO_PORT).
    int one = 1;
    ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sock.bind(asio::ip::tcp::endpoint(source_, 0), ec);
  }
  if (ec) return fail("socket: " + ec.message());
  auto self = shared_from_this();
  sock.async_connect(options_.server, [this, self](boost::system::error_code ec) {
    if (state_ != State::Connecting) return;
    if (ec) return fail("connect: " + ec.message());
    stream_.next_layer().set_option(asio::ip::tcp::no_delay(true));
    SSL_set_tlsext_host_name(stream_.native_handle(), options_.domain.c_str());
    state_ = State::Handshake;
    stream_.async_handshake(asio::ssl::stream_base::client,
                            [this, self](boost::system::error_code ec) {
                              if (state_ != State::Handshake) return;
                              if (ec) return fail("tls: " + ec.message());
                              state_ = State::AwaitFeatures;
                              open_stream();
                              read();
                            });
  });
}

void Client::open_stream() {
  send(
      "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams' version='1.0' to='" +
      options_.domain + "' from='" + bare_jid_ + "'>");
}

void Client::bind() {
  state_ = State::AwaitBind;
  send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>" +
       xml_escape(options_.resource) + "</resource></bind></iq>");
}

void Client::send(std::string_view data) {
  if (state_ == State::Closed) return;
  out_pending_.append(data);
  if (!writing_) write();
}

void Client::send_stanzas(std::string_view data, unsigned n) {
  if (sm_enabled_) sm_sent_ += n;
  send(data);
}

void Client::write() {
  if (out_pending_.empty()) return;
  writing_ = true;
  out_writing_.swap(out_pending_);
  out_pending_.clear();
  auto self = shared_from_this();
  asio::async_write(stream_, asio::buffer(out_writing_),
                    [this, self](boost::system::error_code ec, size_t) {
                      writing_ = false;
                      out_writing_.clear();
                      if (state_ == State::Closed) return;
                      if (ec) return fail("write: " + ec.message());
                      write();
                    });
}

void Client::read() {
  auto self = shared_from_this();
  stream_.async_read_some(
      asio::buffer(rbuf_), [this, self](boost::system::error_code ec, size_t n) {
        if (state_ == State::Closed) return;
        if (ec) return fail(state_ == State::Closing ? "" : "read: " + ec.message());
        splitter_.feed(std::string_view(rbuf_.data(), n));
        std::string_view el;
        for (;;) {
          auto ev = splitter_.next(el);
          if (ev == ElementSplitter::Event::None) break;
          if (ev == ElementSplitter::Event::StreamClose)
            return fail(state_ == State::Closing ? "" : "stream closed by server");
          if (ev == ElementSplitter::Event::Element) {
            State before = state_;
            on_element(el);
            if (state_ == State::Closed) return;
            // SASL success restarted the stream and emptied the splitter, `el` with it: the
            // rest comes on the new stream.
            if (before == State::AwaitSuccess && state_ == State::AwaitFeatures2) break;
          }
        }
        read();
      });
}

void Client::on_element(std::string_view el) {
  std::string_view name = element_name(el);
  if (name == "stream:error")
    return fail("stream error: " + std::string(el.substr(0, std::min<size_t>(el.size(), 300))));
  switch (state_) {
    case State::AwaitFeatures: {
      if (name != "stream:features") return fail("expected stream features");
      if (el.find("SCRAM-SHA-256<") == std::string_view::npos)
        return fail("server does not offer SCRAM-SHA-256");
      scram_.emplace(username_, options_.password);
      state_ = State::AwaitChallenge;
      send("<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='SCRAM-SHA-256'>" +
           base64_encode(scram_->client_first()) + "</auth>");
      return;
    }
    case State::AwaitChallenge: {
      if (name != "challenge") return fail("SASL: " + std::string(el.substr(0, 200)));
      size_t gt = el.find('>');
      size_t lt = el.rfind('<');
      auto server_first = base64_decode(el.substr(gt + 1, lt - gt - 1));
      if (!server_first) return fail("SASL: bad challenge");
      auto final_message = scram_->client_final(*server_first);
      if (!final_message) return fail("SASL: bad server-first-message");
      state_ = State::AwaitSuccess;
      send("<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>" + base64_encode(*final_message) +
           "</response>");
      return;
    }
    case State::AwaitSuccess: {
      if (name != "success") return fail("SASL: " + std::string(el.substr(0, 200)));
      size_t gt = el.find('>');
      size_t lt = el.rfind('<');
      if (el[gt - 1] != '/') {
        auto server_final = base64_decode(el.substr(gt + 1, lt - gt - 1));
        if (!server_final || !scram_->verify_server_final(*server_final))
          return fail("SASL: server signature does not verify");
      }
      scram_.reset();
      // RFC 6120 §6.4.6: restart the stream; the old parser state is gone.
      state_ = State::AwaitFeatures2;
      splitter_.reset();
      open_stream();
      return;
    }
    case State::AwaitFeatures2:
      if (name != "stream:features") return fail("expected post-auth features");
      if (!resume_previd_.empty()) {  // XEP-0198 §5: <resume/> instead of binding
        state_ = State::AwaitResume;
        send("<resume xmlns='urn:xmpp:sm:3' previd='" + xml_escape(resume_previd_) + "' h='" +
             std::to_string(resume_h_) + "'/>");
        return;
      }
      return bind();
    case State::AwaitResume:
      if (name == "failed") return bind();  // the session is gone: a fresh one, as usual
      if (name != "resumed") return fail("resume: " + std::string(el.substr(0, 200)));
      // The counters go on from the old stream: h received by us, and the server's h of ours.
      sm_enabled_ = resumed_ = true;
      sm_id_ = resume_previd_;
      sm_handled_ = resume_h_;
      sm_sent_ = static_cast<uint32_t>(
          std::strtoul(attribute(el, "h").value_or("0").c_str(), nullptr, 10));
      state_ = State::Ready;
      ready_at_ = Clock::now();
      if (on_ready_) {
        auto h = std::move(on_ready_);
        h(*this, true, {});
      }
      return;  // what the server sends again follows, counted as in Ready
    case State::AwaitBind: {
      if (name != "iq" || attribute(el, "type") != "result")
        return fail("bind: " + std::string(el.substr(0, 200)));
      auto jid = child_text(el, "jid");
      full_jid_ = jid ? *jid : bare_jid_ + "/" + options_.resource;
      // Initial presence, then a ping: its answer comes after the presence has been handled.
      state_ = State::AwaitPing;
      if (options_.stream_management) send("<enable xmlns='urn:xmpp:sm:3' resume='true'/>");
      send("<presence/><iq type='get' id='ready' to='" + options_.domain +
           "'><ping xmlns='urn:xmpp:ping'/></iq>");
      return;
    }
    case State::AwaitPing:
      if (sm_enabled_ && (name == "iq" || name == "message" || name == "presence")) ++sm_handled_;
      if (name == "iq" && attribute(el, "id") == "ready") {
        if (attribute(el, "type") != "result")
          return fail("ping: " + std::string(el.substr(0, 200)));
        state_ = State::Ready;
        ready_at_ = Clock::now();
        if (on_ready_) {
          auto h = std::move(on_ready_);
          h(*this, true, {});
        }
        return;
      }
      return on_ready_element(el);
    case State::Ready:
    case State::Closing:
      if (sm_enabled_ && (name == "iq" || name == "message" || name == "presence")) ++sm_handled_;
      return on_ready_element(el);
    default:
      return;
  }
}

void Client::on_ready_element(std::string_view el) {
  std::string_view name = element_name(el);
  if (name == "enabled") {  // XEP-0198 §4: the counters start here...
    sm_enabled_ = true;
    sm_id_ = attribute(el, "id").value_or("");
    sm_handled_ = 0;
    sm_sent_ = 2;  // ...and the initial presence and the ready ping were sent after <enable/>
    return;
  }
  if (name == "r")
    return send("<a xmlns='urn:xmpp:sm:3' h='" + std::to_string(sm_handled_) + "'/>");
  if (name == "a") {
    if (auto h = attribute(el, "h"); h && on_ack_)
      on_ack_(*this, static_cast<uint32_t>(std::strtoul(h->c_str(), nullptr, 10)));
    return;
  }
  if (name == "failed") return;
  if (name == "iq") {
    auto type = attribute(el, "type");
    if ((type == "get" || type == "set")) {
      // XEP-0199 §4.3 server-to-client ping (and anything else: answer so nothing times out).
      auto id = attribute(el, "id").value_or("");
      auto from = attribute(el, "from");
      std::string to = from ? " to='" + xml_escape(*from) + "'" : std::string();
      if (el.find("urn:xmpp:ping") != std::string_view::npos)
        send_stanzas("<iq type='result' id='" + xml_escape(id) + "'" + to + "/>", 1);
      else
        send_stanzas("<iq type='error' id='" + xml_escape(id) + "'" + to +
                         "><error type='cancel'><service-unavailable "
                         "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
                     1);
      return;
    }
  }
  if (name == "presence") {
    // Without a handler: our own initial presence, reflected (RFC 6121 §4.2.2).
    if (on_presence_) on_presence_(*this, el);
    return;
  }
  if (on_stanza_) on_stanza_(*this, el);
}

void Client::close() {
  if (state_ == State::Closed || state_ == State::Closing) return;
  if (state_ != State::Ready) return abort();
  state_ = State::Closing;
  send("</stream:stream>");
}

void Client::abort() {
  if (state_ == State::Closed) return;
  state_ = State::Closed;
  boost::system::error_code ec;
  stream_.next_layer().close(ec);
}

void Client::fail(const std::string& why) {
  if (state_ == State::Closed) return;
  bool was_ready = state_ == State::Ready;
  bool logging_in = state_ != State::Ready && state_ != State::Closing;
  abort();
  if (logging_in && on_ready_) {
    auto h = std::move(on_ready_);
    h(*this, false, why);
  } else if (was_ready && on_closed_) {
    on_closed_(*this, why);
  }
}

}  // namespace parley::bench
