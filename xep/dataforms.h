// XEP-0004 Data Forms: <x xmlns='jabber:x:data'/> as a typed value. Used by XEP-0313 queries
// (the filter form and its discovery), and by anything else that exchanges forms.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "xep/parsed.h"
#include "xml/element.h"

namespace parley::xep::dataforms {

inline constexpr std::string_view kNs = "jabber:x:data";

// §3.1 form types.
enum class FormType { Form, Submit, Cancel, Result };
std::string_view to_string(FormType type);

struct Option {
  std::string label;
  std::string value;
  friend bool operator==(const Option&, const Option&) = default;
};

// §3.2 <field/>. `type` is as written ("" = absent, which §3.2 reads as text-single in a form
// and as "from context" in a submission).
struct Field {
  std::string var;
  std::string type;
  std::string label;
  std::string desc;
  bool required = false;
  std::vector<std::string> values;
  std::vector<Option> options;
  // Children in other namespaces, kept as they are (e.g. XEP-0122 <validate/>).
  std::vector<xml::Element> extensions;

  // The single value, or "" when there is none.
  const std::string& value() const;
  friend bool operator==(const Field& a, const Field& b);
};

struct Form {
  FormType type = FormType::Form;
  std::string title;
  std::vector<std::string> instructions;
  std::vector<Field> fields;
  // §3.4 multiple items in a result: the table header and its rows.
  std::vector<Field> reported;
  std::vector<std::vector<Field>> items;

  // The hidden FORM_TYPE field's value (XEP-0068 §2), or "".
  std::string form_type() const;
  const Field* field(std::string_view var) const;
  // Appends a field; returns it for further setting.
  Field& add(std::string var, std::string type = {}, std::vector<std::string> values = {});
  friend bool operator==(const Form&, const Form&) = default;
};

// A form with the hidden FORM_TYPE field first (XEP-0068 §2).
Form with_form_type(FormType type, std::string form_type);

// Decodes <x xmlns='jabber:x:data'/>. Checks §3.1 (a known type), §3.2 (var on every field but
// "fixed", unique vars, at most one value for single-valued types, options only in list
// fields with exactly one value each, known field types), and the §3.4 item structure.
Parsed<Form> parse(const xml::Element& x);
xml::Element to_element(const Form& form);

// Field types of §3.3 that hold at most one value.
bool is_single_valued(std::string_view type);

}  // namespace parley::xep::dataforms
