#include "xep/dataforms.h"

#include <algorithm>
#include <array>
#include <set>

namespace parley::xep::dataforms {

namespace {

// §3.3 field types.
constexpr std::array<std::string_view, 10> kFieldTypes = {
    "boolean",    "fixed",       "hidden",     "jid-multi",    "jid-single",
    "list-multi", "list-single", "text-multi", "text-private", "text-single"};

bool known_field_type(std::string_view type) {
  return std::find(kFieldTypes.begin(), kFieldTypes.end(), type) != kFieldTypes.end();
}

std::optional<FormType> form_type_of(std::string_view s) {
  if (s == "form") return FormType::Form;
  if (s == "submit") return FormType::Submit;
  if (s == "cancel") return FormType::Cancel;
  if (s == "result") return FormType::Result;
  return std::nullopt;
}

bool in_ns(const xml::Element& e) {
  return e.xmlns() == kNs;
}

Parsed<Field> parse_field(const xml::Element& f) {
  Field out;
  out.var = f.get("var");
  out.type = f.get("type");
  out.label = f.get("label");
  if (!out.type.empty() && !known_field_type(out.type))
    return parse_error("unknown field type '" + out.type + "'");
  // §3.2: every field but "fixed" is named.
  if (out.var.empty() && out.type != "fixed") return parse_error("field without a var");
  for (const auto& node : f.nodes()) {
    if (node.is_text()) continue;
    const xml::Element& c = *node.element;
    if (!in_ns(c)) {
      out.extensions.push_back(c);
      continue;
    }
    if (c.name() == "value") {
      out.values.push_back(c.text());
    } else if (c.name() == "desc") {
      out.desc = c.text();
    } else if (c.name() == "required") {
      if (c.first_child() || !c.text().empty()) return parse_error("<required/> must be empty");
      out.required = true;
    } else if (c.name() == "option") {
      // §3.2: exactly one <value/> per option.
      auto values = c.children("value");
      if (values.size() != 1) return parse_error("an option needs exactly one value");
      out.options.push_back({std::string(c.get("label")), values.front()->text()});
    } else {
      return parse_error("unexpected <" + c.name() + "/> in a field");
    }
  }
  // Without a type (allowed in a submission, §3.2) the using protocol knows what it expects.
  if (out.values.size() > 1 && !out.type.empty() && is_single_valued(out.type))
    return parse_error("field '" + out.var + "' of type " + out.type + " has several values");
  if (!out.options.empty() && !out.type.empty() && out.type != "list-single" &&
      out.type != "list-multi")
    return parse_error("options in a field of type " + out.type);
  return out;
}

// The fields directly inside `parent`, with §3.2 var uniqueness.
Parsed<std::vector<Field>> parse_fields(const xml::Element& parent) {
  std::vector<Field> out;
  std::set<std::string> vars;
  for (const xml::Element* f : parent.children("field", kNs)) {
    auto field = parse_field(*f);
    if (!field) return parse_error(field.error());
    if (!field->var.empty() && !vars.insert(field->var).second)
      return parse_error("duplicate field '" + field->var + "'");
    out.push_back(std::move(field).value());
  }
  return out;
}

void append_field(xml::Element& parent, const Field& f) {
  auto& e = parent.add("field");
  if (!f.var.empty()) e.set("var", f.var);
  if (!f.type.empty()) e.set("type", f.type);
  if (!f.label.empty()) e.set("label", f.label);
  if (!f.desc.empty()) e.text_child("desc", f.desc);
  if (f.required) e.add("required");
  for (const auto& v : f.values) e.text_child("value", v);
  for (const auto& o : f.options) {
    auto& opt = e.add("option");
    if (!o.label.empty()) opt.set("label", o.label);
    opt.text_child("value", o.value);
  }
  for (const auto& x : f.extensions) e.add(x);
}

}  // namespace

std::string_view to_string(FormType type) {
  switch (type) {
    case FormType::Form:
      return "form";
    case FormType::Submit:
      return "submit";
    case FormType::Cancel:
      return "cancel";
    case FormType::Result:
      return "result";
  }
  return "form";
}

bool is_single_valued(std::string_view type) {
  // §3.2: list-multi, jid-multi, text-multi and hidden may hold several values.
  return !(type == "list-multi" || type == "jid-multi" || type == "text-multi" || type == "hidden");
}

const std::string& Field::value() const {
  static const std::string none;
  return values.empty() ? none : values.front();
}

bool operator==(const Field& a, const Field& b) {
  if (a.var != b.var || a.type != b.type || a.label != b.label || a.desc != b.desc ||
      a.required != b.required || a.values != b.values || a.options != b.options ||
      a.extensions.size() != b.extensions.size())
    return false;
  for (size_t i = 0; i < a.extensions.size(); ++i)
    if (a.extensions[i].str() != b.extensions[i].str()) return false;
  return true;
}

std::string Form::form_type() const {
  const Field* f = field("FORM_TYPE");
  return f && (f->type.empty() || f->type == "hidden") ? f->value() : std::string();
}

const Field* Form::field(std::string_view var) const {
  for (const auto& f : fields)
    if (f.var == var) return &f;
  return nullptr;
}

Field& Form::add(std::string var, std::string type, std::vector<std::string> values) {
  Field f;
  f.var = std::move(var);
  f.type = std::move(type);
  f.values = std::move(values);
  fields.push_back(std::move(f));
  return fields.back();
}

Form with_form_type(FormType type, std::string form_type) {
  Form f;
  f.type = type;
  f.add("FORM_TYPE", "hidden", {std::move(form_type)});
  return f;
}

Parsed<Form> parse(const xml::Element& x) {
  if (x.name() != "x" || !in_ns(x)) return parse_error("not a jabber:x:data form");
  auto type = form_type_of(x.get("type"));
  if (!type) return parse_error("form type must be form, submit, cancel or result");
  Form form;
  form.type = *type;
  for (const xml::Element* t : x.children("title", kNs)) form.title = t->text();
  for (const xml::Element* i : x.children("instructions", kNs))
    form.instructions.push_back(i->text());
  auto fields = parse_fields(x);
  if (!fields) return parse_error(fields.error());
  form.fields = std::move(fields).value();

  auto reported = x.children("reported", kNs);
  auto items = x.children("item", kNs);
  if (reported.size() > 1) return parse_error("more than one <reported/>");
  if ((!reported.empty() || !items.empty()) && form.type != FormType::Result)
    return parse_error("<reported/> and <item/> belong in result forms");
  if (!reported.empty()) {
    auto r = parse_fields(*reported.front());
    if (!r) return parse_error(r.error());
    form.reported = std::move(r).value();
  }
  for (const xml::Element* item : items) {
    auto row = parse_fields(*item);
    if (!row) return parse_error(row.error());
    form.items.push_back(std::move(row).value());
  }
  return form;
}

xml::Element to_element(const Form& form) {
  xml::Element x("x", std::string(kNs));
  x.set("type", to_string(form.type));
  if (!form.title.empty()) x.text_child("title", form.title);
  for (const auto& i : form.instructions) x.text_child("instructions", i);
  for (const auto& f : form.fields) append_field(x, f);
  if (!form.reported.empty()) {
    auto& r = x.add("reported");
    for (const auto& f : form.reported) append_field(r, f);
  }
  for (const auto& row : form.items) {
    auto& item = x.add("item");
    for (const auto& f : row) append_field(item, f);
  }
  return x;
}

}  // namespace parley::xep::dataforms
