// A deliberately small, independent XML reader for the integration tests: it splits what the
// server sends into the stream header, top-level elements and the stream close, and resolves
// namespaces, so tests can assert on (local name, namespace) instead of on prefixes. It is
// independent of libparley's parser on purpose: the tests must not share the server's bugs.
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace parley::it {

struct Node {
  std::string name;                          // local name
  std::string ns;                            // resolved namespace URI
  std::map<std::string, std::string> attrs;  // by qualified name as written, xmlns* excluded
  std::vector<Node> children;
  std::string text;  // concatenated character data directly inside this element
  std::string raw;   // the element's source text (top-level elements only)

  std::string attr(const std::string& key) const;
  bool has_attr(const std::string& key) const { return attrs.count(key) != 0; }
  // First child with this local name (and namespace, when given).
  const Node* child(const std::string& local, const std::string& ns_uri = "") const;
  // First descendant at any depth.
  const Node* find(const std::string& local, const std::string& ns_uri = "") const;
  std::vector<const Node*> all(const std::string& local, const std::string& ns_uri = "") const;
  // The first child element in `ns_uri` (the defined condition of a stream or stanza error).
  std::string condition(const std::string& ns_uri) const;
  bool is(const std::string& local, const std::string& ns_uri) const {
    return name == local && ns == ns_uri;
  }
};

struct XmlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Incremental reader of an XMPP stream from the peer.
class StreamReader {
 public:
  enum class Kind { None, StreamOpen, Element, StreamClose };
  struct Event {
    Kind kind = Kind::None;
    Node node;  // the stream header (attributes only) or the element
  };

  explicit StreamReader(std::string default_ns = "jabber:client");
  void feed(const char* data, size_t n) { buf_.append(data, n); }
  // Next complete event from what has been fed; Kind::None when more bytes are needed.
  // Throws XmlError when the peer sent something that is not XML.
  Event next();
  // Forgets the stream state (after STARTTLS or SASL success, RFC 6120 §5.4.3.3, §6.4.6).
  void restart();
  bool buffered() const { return pos_ < buf_.size(); }

 private:
  std::string buf_;
  size_t pos_ = 0;
  bool open_ = false;
  std::map<std::string, std::string> stream_scope_;
  std::string default_ns_;
};

// Parses one complete element (used for libstrophe's stanza text).
Node parse_element(const std::string& xml, const std::string& default_ns = "jabber:client");

// Escapes text for use in an attribute or character data.
std::string xml_escape(const std::string& s);

}  // namespace parley::it
