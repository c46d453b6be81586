// Element tree and serializer (RFC 6120 §4.7, §8; XML 1.0 §2.4, §3.3.3).
#include "xml/element.h"

#include <utility>

namespace parley::xml {

namespace {

// Namespace filters: for child() and friends an empty xmlns means "this element's namespace".
bool ns_matches(const Element& e, std::string_view want) {
  return e.xmlns() == want;
}

// "{uri}local" attribute names carry their own namespace; split them.
bool split_qualified(std::string_view name, std::string_view& uri, std::string_view& local) {
  if (name.size() < 3 || name.front() != '{') return false;
  // A URI may contain '}', a local name (an XML NCName) cannot: split at the last one.
  size_t close = name.rfind('}');
  if (close == std::string_view::npos || close + 1 >= name.size()) return false;
  uri = name.substr(1, close - 1);
  local = name.substr(close + 1);
  return true;
}

}  // namespace

namespace {

// One escaper for both contexts. Character data needs & < > (and CR, which a reader would turn
// into LF, XML 1.0 §2.11); attribute values also need the quotes, and TAB/LF as references
// because readers normalize whitespace in attributes to spaces (§3.3.3).
void escape(std::string& out, std::string_view in, bool attribute) {
  out.reserve(out.size() + in.size());
  for (char ch : in) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      // '>' only matters in "]]>" but escaping it always is simpler and still valid.
      case '>':
        out += "&gt;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '"':
        attribute ? out += "&quot;" : out += ch;
        break;
      case '\'':
        attribute ? out += "&apos;" : out += ch;
        break;
      case '\t':
        attribute ? out += "&#9;" : out += ch;
        break;
      case '\n':
        attribute ? out += "&#10;" : out += ch;
        break;
      default:
        // C0 controls other than TAB/LF/CR are not XML 1.0 characters (§2.2), not even as
        // character references; drop them instead of producing a not-well-formed stream.
        if (static_cast<unsigned char>(ch) < 0x20) break;
        out += ch;
    }
  }
}

}  // namespace

void escape_text(std::string& out, std::string_view in) {
  escape(out, in, false);
}
void escape_attr(std::string& out, std::string_view in) {
  escape(out, in, true);
}

Element::Element(std::string name, std::string xmlns)
    : name_(std::move(name)), xmlns_(std::move(xmlns)) {}

Element::Element(const Element& other)
    : name_(other.name_), xmlns_(other.xmlns_), attrs_(other.attrs_) {
  nodes_.reserve(other.nodes_.size());
  for (const Node& n : other.nodes_) {
    Node copy;
    if (n.element) {
      copy.element = std::make_unique<Element>(*n.element);
    } else {
      copy.text = n.text;
    }
    nodes_.push_back(std::move(copy));
  }
}

Element& Element::operator=(const Element& other) {
  if (this != &other) {
    Element copy(other);
    *this = std::move(copy);
  }
  return *this;
}

Element::~Element() = default;

const std::string* Element::attr(std::string_view name) const {
  for (const Attribute& a : attrs_) {
    if (a.name == name) return &a.value;
  }
  return nullptr;
}

std::string_view Element::get(std::string_view name) const {
  const std::string* v = attr(name);
  return v ? std::string_view(*v) : std::string_view{};
}

Element& Element::set(std::string_view name, std::string_view value) {
  for (Attribute& a : attrs_) {
    if (a.name == name) {
      a.value.assign(value);
      return *this;
    }
  }
  attrs_.push_back(Attribute{std::string(name), std::string(value)});
  return *this;
}

void Element::remove(std::string_view name) {
  for (auto it = attrs_.begin(); it != attrs_.end(); ++it) {
    if (it->name == name) {
      attrs_.erase(it);
      return;
    }
  }
}

Element& Element::add(Element child) {
  Node n;
  n.element = std::make_unique<Element>(std::move(child));
  nodes_.push_back(std::move(n));
  return *nodes_.back().element;
}

Element& Element::add(std::string name, std::string xmlns) {
  return add(Element(std::move(name), xmlns.empty() ? xmlns_ : std::move(xmlns)));
}

Element& Element::add_text(std::string_view text) {
  if (text.empty()) return *this;
  // Adjacent character data is one run; keeping it merged keeps text() cheap and trees small.
  if (!nodes_.empty() && nodes_.back().is_text()) {
    nodes_.back().text.append(text);
  } else {
    Node n;
    n.text.assign(text);
    nodes_.push_back(std::move(n));
  }
  return *this;
}

Element& Element::text_child(std::string name, std::string_view text) {
  Element& c = add(std::move(name));
  c.add_text(text);
  return c;
}

const Element* Element::child(std::string_view name, std::string_view xmlns) const {
  std::string_view ns = xmlns.empty() ? std::string_view(xmlns_) : xmlns;
  for (const Node& n : nodes_) {
    if (n.element && n.element->name_ == name && ns_matches(*n.element, ns)) {
      return n.element.get();
    }
  }
  return nullptr;
}

Element* Element::child(std::string_view name, std::string_view xmlns) {
  return const_cast<Element*>(std::as_const(*this).child(name, xmlns));
}

const Element* Element::child_ns(std::string_view xmlns) const {
  for (const Node& n : nodes_) {
    if (n.element && n.element->xmlns_ == xmlns) return n.element.get();
  }
  return nullptr;
}

// With no name and no namespace this lists every child element (the common "iterate all"
// case); with a name, an empty xmlns means this element's namespace as for child().
std::vector<const Element*> Element::children(std::string_view name, std::string_view xmlns) const {
  std::vector<const Element*> out;
  bool any_ns = xmlns.empty() && name.empty();
  std::string_view ns = xmlns.empty() ? std::string_view(xmlns_) : xmlns;
  for (const Node& n : nodes_) {
    if (!n.element) continue;
    if (!name.empty() && n.element->name_ != name) continue;
    if (!any_ns && !ns_matches(*n.element, ns)) continue;
    out.push_back(n.element.get());
  }
  return out;
}

const Element* Element::first_child() const {
  for (const Node& n : nodes_) {
    if (n.element) return n.element.get();
  }
  return nullptr;
}

void Element::remove_children(std::string_view name, std::string_view xmlns) {
  std::string_view ns = xmlns.empty() ? std::string_view(xmlns_) : xmlns;
  std::erase_if(nodes_, [&](const Node& n) {
    return n.element && n.element->name_ == name && ns_matches(*n.element, ns);
  });
}

std::string Element::text() const {
  std::string out;
  for (const Node& n : nodes_) {
    if (!n.element) out += n.text;
  }
  return out;
}

std::string Element::child_text(std::string_view name, std::string_view xmlns) const {
  const Element* c = child(name, xmlns);
  return c ? c->text() : std::string{};
}

std::string Element::str(std::string_view parent_ns) const {
  std::string out;
  append_to(out, parent_ns);
  return out;
}

void Element::append_to(std::string& out, std::string_view parent_ns) const {
  // The xml namespace can only be spelled with its predeclared prefix (Namespaces in XML 1.0
  // §3: it must not be the default namespace); the default in scope is unchanged inside.
  const bool xml_prefixed = xmlns_ == kXmlNs;
  const std::string_view scope = xml_prefixed ? parent_ns : std::string_view(xmlns_);
  out += xml_prefixed ? "<xml:" : "<";
  out += name_;
  // Namespaces in XML 1.0 §6.2: a default namespace declaration is needed only where the
  // namespace changes; xmlns="" undeclares it for elements in no namespace.
  if (!xml_prefixed && xmlns_ != parent_ns) {
    out += " xmlns=\"";
    escape_attr(out, xmlns_);
    out += '"';
  }
  unsigned prefix_no = 0;
  for (const Attribute& a : attrs_) {
    std::string_view uri, local;
    if (split_qualified(a.name, uri, local)) {
      if (uri == kXmlNs) {
        // The xml prefix is bound by definition and must not be declared to anything else.
        out += " xml:";
      } else {
        // A fresh prefix per attribute on this element cannot collide with any other
        // declaration in scope here: the serializer never emits prefixed element names.
        std::string prefix = "ns" + std::to_string(++prefix_no);
        out += " xmlns:" + prefix + "=\"";
        escape_attr(out, uri);
        out += "\" " + prefix + ':';
      }
      out += local;
    } else {
      out += ' ';
      out += a.name;
    }
    out += "=\"";
    escape_attr(out, a.value);
    out += '"';
  }
  if (nodes_.empty()) {
    out += "/>";
    return;
  }
  out += '>';
  for (const Node& n : nodes_) {
    if (n.element) {
      n.element->append_to(out, scope);
    } else {
      escape_text(out, n.text);
    }
  }
  out += xml_prefixed ? "</xml:" : "</";
  out += name_;
  out += '>';
}

size_t Element::byte_size() const {
  size_t size = sizeof(Element) + name_.capacity() + xmlns_.capacity() +
                attrs_.capacity() * sizeof(Attribute) + nodes_.capacity() * sizeof(Node);
  for (const Attribute& a : attrs_) size += a.name.capacity() + a.value.capacity();
  for (const Node& n : nodes_) {
    size += n.element ? n.element->byte_size() : n.text.capacity();
  }
  return size;
}

}  // namespace parley::xml
