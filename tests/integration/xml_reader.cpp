#include "xml_reader.h"

#include <cctype>
#include <cstdint>

namespace parley::it {

namespace {

using Scope = std::map<std::string, std::string>;  // prefix ("" = default) -> URI

struct Incomplete {};

// Recursive descent over a buffer that may end anywhere: running out of bytes throws
// Incomplete so the caller can wait for more and retry from the same position.
class Parser {
 public:
  Parser(const std::string& buf, size_t pos) : b_(buf), p_(pos) {}
  size_t pos() const { return p_; }

  void skip_space() {
    while (p_ < b_.size() && std::isspace(static_cast<unsigned char>(b_[p_]))) ++p_;
  }
  bool at_end() const { return p_ >= b_.size(); }
  bool starts(const char* s) {
    size_t n = std::char_traits<char>::length(s);
    if (b_.size() - p_ < n) {
      // Only decide "no" when what we have already differs.
      if (b_.compare(p_, b_.size() - p_, s, b_.size() - p_) == 0) throw Incomplete{};
      return false;
    }
    return b_.compare(p_, n, s) == 0;
  }
  char peek() {
    if (p_ >= b_.size()) throw Incomplete{};
    return b_[p_];
  }
  void expect(char c) {
    if (peek() != c)
      throw XmlError(std::string("expected '") + c + "' at offset " + std::to_string(p_));
    ++p_;
  }
  void skip_past(const char* s) {
    size_t at = b_.find(s, p_);
    if (at == std::string::npos) throw Incomplete{};
    p_ = at + std::char_traits<char>::length(s);
  }
  std::string name() {
    size_t start = p_;
    while (true) {
      char c = peek();
      if (std::isspace(static_cast<unsigned char>(c)) || c == '=' || c == '>' || c == '/') break;
      ++p_;
    }
    if (p_ == start) throw XmlError("empty name at offset " + std::to_string(p_));
    return b_.substr(start, p_ - start);
  }

  // Reads "<name attrs..." up to and including '>' or '/>'. Returns true if self-closing.
  bool start_tag(std::string& qname, std::map<std::string, std::string>& raw_attrs) {
    expect('<');
    qname = name();
    while (true) {
      skip_space();
      char c = peek();
      if (c == '>') {
        ++p_;
        return false;
      }
      if (c == '/') {
        ++p_;
        expect('>');
        return true;
      }
      std::string key = name();
      skip_space();
      expect('=');
      skip_space();
      char q = peek();
      if (q != '\'' && q != '"') throw XmlError("unquoted attribute " + key);
      ++p_;
      size_t end = b_.find(q, p_);
      if (end == std::string::npos) throw Incomplete{};
      raw_attrs[key] = unescape(b_.substr(p_, end - p_));
      p_ = end + 1;
    }
  }

  Node element(const Scope& outer) {
    size_t start = p_;
    std::string qname;
    std::map<std::string, std::string> raw;
    bool empty = start_tag(qname, raw);
    Node n;
    Scope scope = outer;
    apply(n, qname, raw, scope);
    if (!empty) {
      while (true) {
        size_t lt = b_.find('<', p_);
        if (lt == std::string::npos) throw Incomplete{};
        n.text += unescape(b_.substr(p_, lt - p_));
        p_ = lt;
        if (starts("</")) {
          p_ += 2;
          std::string close = name();
          if (close != qname) throw XmlError("mismatched </" + close + "> for <" + qname + ">");
          skip_space();
          expect('>');
          break;
        }
        if (starts("<!--")) {
          skip_past("-->");
          continue;
        }
        if (starts("<![CDATA[")) {
          p_ += 9;
          size_t end = b_.find("]]>", p_);
          if (end == std::string::npos) throw Incomplete{};
          n.text += b_.substr(p_, end - p_);
          p_ = end + 3;
          continue;
        }
        n.children.push_back(element(scope));
      }
    }
    n.raw = b_.substr(start, p_ - start);
    return n;
  }

  static void apply(Node& n, const std::string& qname,
                    const std::map<std::string, std::string>& raw, Scope& scope) {
    for (const auto& [k, v] : raw) {
      if (k == "xmlns")
        scope[""] = v;
      else if (k.rfind("xmlns:", 0) == 0)
        scope[k.substr(6)] = v;
    }
    for (const auto& [k, v] : raw)
      if (k != "xmlns" && k.rfind("xmlns:", 0) != 0) n.attrs[k] = v;
    auto colon = qname.find(':');
    std::string prefix = colon == std::string::npos ? "" : qname.substr(0, colon);
    n.name = colon == std::string::npos ? qname : qname.substr(colon + 1);
    auto it = scope.find(prefix);
    if (it == scope.end()) {
      if (!prefix.empty()) throw XmlError("undeclared prefix " + prefix);
    } else {
      n.ns = it->second;
    }
  }

  static std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '&') {
        out += s[i];
        continue;
      }
      size_t semi = s.find(';', i);
      if (semi == std::string::npos) throw XmlError("bad entity");
      std::string ent = s.substr(i + 1, semi - i - 1);
      if (ent == "lt")
        out += '<';
      else if (ent == "gt")
        out += '>';
      else if (ent == "amp")
        out += '&';
      else if (ent == "quot")
        out += '"';
      else if (ent == "apos")
        out += '\'';
      else if (!ent.empty() && ent[0] == '#') {
        uint32_t cp = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X')
                          ? static_cast<uint32_t>(std::stoul(ent.substr(2), nullptr, 16))
                          : static_cast<uint32_t>(std::stoul(ent.substr(1)));
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else if (cp < 0x800) {
          out += static_cast<char>(0xC0 | (cp >> 6));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          out += static_cast<char>(0xE0 | (cp >> 12));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          out += static_cast<char>(0xF0 | (cp >> 18));
          out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (cp & 0x3F));
        }
      } else {
        throw XmlError("unknown entity &" + ent + ";");
      }
      i = semi;
    }
    return out;
  }

 private:
  const std::string& b_;
  size_t p_;
};

}  // namespace

std::string Node::attr(const std::string& key) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? std::string() : it->second;
}

const Node* Node::child(const std::string& local, const std::string& ns_uri) const {
  for (const auto& c : children)
    if (c.name == local && (ns_uri.empty() || c.ns == ns_uri)) return &c;
  return nullptr;
}

const Node* Node::find(const std::string& local, const std::string& ns_uri) const {
  for (const auto& c : children) {
    if (c.name == local && (ns_uri.empty() || c.ns == ns_uri)) return &c;
    if (const Node* d = c.find(local, ns_uri)) return d;
  }
  return nullptr;
}

std::vector<const Node*> Node::all(const std::string& local, const std::string& ns_uri) const {
  std::vector<const Node*> out;
  for (const auto& c : children)
    if (c.name == local && (ns_uri.empty() || c.ns == ns_uri)) out.push_back(&c);
  return out;
}

std::string Node::condition(const std::string& ns_uri) const {
  for (const auto& c : children)
    if (c.ns == ns_uri && c.name != "text") return c.name;
  return {};
}

StreamReader::StreamReader(std::string default_ns) : default_ns_(std::move(default_ns)) {
  restart();
}

void StreamReader::restart() {
  open_ = false;
  stream_scope_.clear();
  stream_scope_[""] = default_ns_;
  stream_scope_["xml"] = "http://www.w3.org/XML/1998/namespace";
  buf_.erase(0, pos_);
  pos_ = 0;
}

StreamReader::Event StreamReader::next() {
  while (true) {
    Parser p(buf_, pos_);
    Event ev;
    try {
      p.skip_space();
      if (p.at_end()) {
        pos_ = p.pos();
        return ev;
      }
      if (p.starts("<?")) {
        p.skip_past("?>");
        pos_ = p.pos();
        continue;
      }
      if (p.starts("</")) {
        p.skip_past(">");
        pos_ = p.pos();
        ev.kind = Kind::StreamClose;
        return ev;
      }
      if (!open_) {
        std::string qname;
        std::map<std::string, std::string> raw;
        p.start_tag(qname, raw);
        Parser::apply(ev.node, qname, raw, stream_scope_);
        ev.node.raw = buf_.substr(pos_, p.pos() - pos_);
        ev.kind = Kind::StreamOpen;
        open_ = true;
        pos_ = p.pos();
        return ev;
      }
      if (p.peek() != '<') throw XmlError("text at stream level: " + buf_.substr(pos_, 40));
      ev.node = p.element(stream_scope_);
      ev.kind = Kind::Element;
      pos_ = p.pos();
      if (pos_ > 65536) {
        buf_.erase(0, pos_);
        pos_ = 0;
      }
      return ev;
    } catch (const Incomplete&) {
      return Event{};
    }
  }
}

Node parse_element(const std::string& xml, const std::string& default_ns) {
  Scope scope{{"", default_ns},
              {"xml", "http://www.w3.org/XML/1998/namespace"},
              {"stream", "http://etherx.jabber.org/streams"}};
  Parser p(xml, 0);
  try {
    p.skip_space();
    return p.element(scope);
  } catch (const Incomplete&) {
    throw XmlError("incomplete element: " + xml.substr(0, 200));
  }
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace parley::it
