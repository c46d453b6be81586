// An XML element tree for stanzas (RFC 6120 §4.7, §8). Names and namespaces are resolved:
// an Element knows its namespace URI, the serializer writes xmlns only where it changes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::xml {

inline constexpr std::string_view kXmlNs = "http://www.w3.org/XML/1998/namespace";

// Attribute names are local names, except "xml:lang" (the xml namespace) and, for the rare
// attribute in another namespace, "{uri}local"; the serializer declares a prefix for those.
struct Attribute {
  std::string name;
  std::string value;
};

class Element;

// A child node: either an element or a run of character data.
struct Node {
  std::unique_ptr<Element> element;  // null for text
  std::string text;
  bool is_text() const { return element == nullptr; }
};

class Element {
 public:
  Element() = default;
  explicit Element(std::string name, std::string xmlns = {});
  Element(const Element& other);
  Element& operator=(const Element& other);
  Element(Element&&) noexcept = default;
  Element& operator=(Element&&) noexcept = default;
  ~Element();

  const std::string& name() const { return name_; }
  const std::string& xmlns() const { return xmlns_; }
  void set_name(std::string name) { name_ = std::move(name); }
  void set_xmlns(std::string ns) { xmlns_ = std::move(ns); }

  // Attributes. attr() returns nullptr when absent; get() returns "" when absent.
  const std::string* attr(std::string_view name) const;
  std::string_view get(std::string_view name) const;
  bool has(std::string_view name) const { return attr(name) != nullptr; }
  Element& set(std::string_view name, std::string_view value);  // adds or replaces
  void remove(std::string_view name);
  const std::vector<Attribute>& attributes() const { return attrs_; }

  // Children. An empty xmlns argument means "the same namespace as this element".
  Element& add(Element child);                             // returns the added child
  Element& add(std::string name, std::string xmlns = {});  // new empty child, same ns if empty
  Element& add_text(std::string_view text);                // appends character data; returns *this
  Element& text_child(std::string name, std::string_view text);  // <name>text</name>, same ns
  const Element* child(std::string_view name, std::string_view xmlns = {}) const;
  Element* child(std::string_view name, std::string_view xmlns = {});
  // First child element in namespace ns (any name); useful for IQ payloads.
  const Element* child_ns(std::string_view xmlns) const;
  std::vector<const Element*> children(std::string_view name = {},
                                       std::string_view xmlns = {}) const;
  const Element* first_child() const;  // first element child, or nullptr
  void remove_children(std::string_view name, std::string_view xmlns = {});
  void clear_children() { nodes_.clear(); }
  const std::vector<Node>& nodes() const { return nodes_; }
  std::vector<Node>& nodes() { return nodes_; }

  // Concatenated direct character data of this element.
  std::string text() const;
  // Text of the first child named `name` in this element's namespace, or "" if absent.
  std::string child_text(std::string_view name, std::string_view xmlns = {}) const;

  // Serialization. parent_ns is the namespace in scope at the point of writing: xmlns is written
  // only if it differs. Stanzas on a jabber:client stream are written with parent_ns set to the
  // stream's default namespace.
  std::string str(std::string_view parent_ns = {}) const;
  void append_to(std::string& out, std::string_view parent_ns = {}) const;

  // Approximate heap footprint, for limits and metrics.
  size_t byte_size() const;

 private:
  std::string name_;
  std::string xmlns_;
  std::vector<Attribute> attrs_;
  std::vector<Node> nodes_;
};

// Escaping for character data and attribute values (RFC 6120 §11.1: no restricted XML).
void escape_text(std::string& out, std::string_view in);
void escape_attr(std::string& out, std::string_view in);

using ElementPtr = std::shared_ptr<Element>;
using ConstElementPtr = std::shared_ptr<const Element>;

}  // namespace parley::xml
