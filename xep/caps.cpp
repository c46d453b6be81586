#include "xep/caps.h"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>
#include <tuple>

#include "core/base64.h"
#include "xep/dataforms.h"
#include "xep/disco.h"

namespace parley::xep::caps {

namespace {

bool fail(std::string* error, std::string_view why) {
  if (error) *error = why;
  return false;
}

const EVP_MD* digest_for(std::string_view name) {
  if (name == "sha-1") return EVP_sha1();
  if (name == "sha-224") return EVP_sha224();
  if (name == "sha-256") return EVP_sha256();
  if (name == "sha-384") return EVP_sha384();
  if (name == "sha-512") return EVP_sha512();
  return nullptr;
}

struct Identity {
  std::string category, type, lang, name;
  // Sorted by category, type and lang (§5.1 step 2), then name so that the order of
  // identities sharing all three does not change S.
  auto key() const { return std::tie(category, type, lang, name); }
  bool operator<(const Identity& o) const { return key() < o.key(); }
  bool operator==(const Identity& o) const { return key() == o.key(); }
};

// One extended info form's share of S: its FORM_TYPE and what follows it.
struct Form {
  std::string form_type;
  std::string text;
};

// The <value/> character data of a data form field, in document order.
std::vector<std::string> values_of(const xml::Element& field) {
  std::vector<std::string> out;
  for (const xml::Element* v : field.children("value", dataforms::kNs)) out.push_back(v->text());
  return out;
}

// §5.1 step 7 for one <x xmlns='jabber:x:data'/>. Returns false (ill-formed, §5.4 step 3.5);
// leaves `out` empty of a form type when the form is to be ignored (§5.4 step 3.6).
bool encode_form(const xml::Element& x, Form& out, std::string* error) {
  const xml::Element* form_type = nullptr;
  // (var, its share of S): sorted by var, then by the rest so that fields sharing a var (which
  // XEP-0004 forbids, but nothing here rejects) give the same S in any order.
  std::vector<std::pair<std::string, std::string>> fields;
  for (const xml::Element* f : x.children("field", dataforms::kNs)) {
    std::string var(f->get("var"));
    if (var == "FORM_TYPE") {
      if (form_type) return fail(error, "a form with more than one FORM_TYPE field");
      form_type = f;
      continue;
    }
    std::vector<std::string> values = values_of(*f);
    std::sort(values.begin(), values.end());
    std::string text = var + '<';
    for (const auto& v : values) text.append(v).push_back('<');
    fields.emplace_back(std::move(var), std::move(text));
  }
  if (!form_type) return true;  // no FORM_TYPE: ignored
  std::vector<std::string> types = values_of(*form_type);
  if (types.empty()) return true;  // nothing to sort it by: as if it had no FORM_TYPE
  for (const auto& t : types)
    if (t != types.front()) return fail(error, "a FORM_TYPE field with differing values");
  out.form_type = types.front();
  if (form_type->get("type") != "hidden") return true;  // ignored, but still counts as a duplicate
  std::sort(fields.begin(), fields.end());
  out.text = out.form_type + '<';
  for (const auto& f : fields) out.text += f.second;
  return true;
}

}  // namespace

std::optional<Caps> parse(const xml::Element& stanza) {
  const xml::Element* c = stanza.child("c", kCapsNs);
  if (!c || c->get("node").empty() || c->get("ver").empty()) return std::nullopt;
  return Caps{std::string(c->get("hash")), std::string(c->get("node")), std::string(c->get("ver")),
              std::string(c->get("ext"))};
}

xml::Element to_element(const Caps& caps) {
  xml::Element c("c", std::string(kCapsNs));
  if (!caps.hash.empty()) c.set("hash", caps.hash);
  c.set("node", caps.node).set("ver", caps.ver);
  if (!caps.ext.empty()) c.set("ext", caps.ext);
  return c;
}

std::string disco_node(const Caps& caps) {
  return caps.node + '#' + caps.ver;
}

bool is_supported_hash(std::string_view hash_name) {
  return digest_for(hash_name) != nullptr;
}

std::optional<std::string> verification_string(const xml::Element& query, std::string* error) {
  if (query.name() != "query" || query.xmlns() != disco::kInfoNs) {
    fail(error, "not a disco#info query");
    return std::nullopt;
  }
  std::vector<Identity> identities;
  std::vector<std::string> features;
  std::vector<Form> forms;
  for (const auto& node : query.nodes()) {
    if (node.is_text()) continue;
    const xml::Element& e = *node.element;
    if (e.xmlns() == disco::kInfoNs && e.name() == "identity") {
      if (e.get("category").empty() || e.get("type").empty()) {
        fail(error, "identity without category or type");
        return std::nullopt;
      }
      identities.push_back({std::string(e.get("category")), std::string(e.get("type")),
                            std::string(e.get("xml:lang")), std::string(e.get("name"))});
    } else if (e.xmlns() == disco::kInfoNs && e.name() == "feature") {
      if (e.get("var").empty()) {
        fail(error, "feature without var");
        return std::nullopt;
      }
      features.emplace_back(e.get("var"));
    } else if (e.xmlns() == dataforms::kNs && e.name() == "x") {
      Form form;
      if (!encode_form(e, form, error)) return std::nullopt;
      if (!form.form_type.empty()) forms.push_back(std::move(form));
    }
  }

  // std::string compares as unsigned char: the "i;octet" collation §5.1 asks for.
  std::sort(identities.begin(), identities.end());
  if (std::adjacent_find(identities.begin(), identities.end()) != identities.end()) {
    fail(error, "two identities with the same category/type/lang/name");
    return std::nullopt;
  }
  std::sort(features.begin(), features.end());
  if (std::adjacent_find(features.begin(), features.end()) != features.end()) {
    fail(error, "a feature listed twice");
    return std::nullopt;
  }
  std::sort(forms.begin(), forms.end(),
            [](const Form& a, const Form& b) { return a.form_type < b.form_type; });
  if (std::adjacent_find(forms.begin(), forms.end(), [](const Form& a, const Form& b) {
        return a.form_type == b.form_type;
      }) != forms.end()) {
    fail(error, "two forms with the same FORM_TYPE");
    return std::nullopt;
  }

  std::string s;
  for (const auto& i : identities) {
    s.append(i.category).append("/").append(i.type).append("/").append(i.lang).append("/");
    s.append(i.name).append("<");
  }
  for (const auto& f : features) s.append(f).append("<");
  for (const auto& f : forms) s += f.text;  // empty for ignored forms
  return s;
}

std::optional<std::string> compute_ver(const xml::Element& query, std::string_view hash_name,
                                       std::string* error) {
  const EVP_MD* md = digest_for(hash_name);
  if (!md) {
    fail(error, "unsupported hash '" + std::string(hash_name) + "'");
    return std::nullopt;
  }
  auto s = verification_string(query, error);
  if (!s) return std::nullopt;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(s->data(), s->size(), out, &len, md, nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  return base64_encode(std::string_view(reinterpret_cast<const char*>(out), len));
}

bool verify(const Caps& caps, const xml::Element& query) {
  if (caps.hash.empty()) return false;
  auto ver = compute_ver(query, caps.hash);
  return ver && *ver == caps.ver;
}

std::vector<std::string> features(const xml::Element& query) {
  std::vector<std::string> out;
  for (const xml::Element* f : query.children("feature", disco::kInfoNs))
    if (!f->get("var").empty()) out.emplace_back(f->get("var"));
  return out;
}

bool has_feature(const xml::Element& query, std::string_view var) {
  if (var.empty()) return false;
  for (const xml::Element* f : query.children("feature", disco::kInfoNs))
    if (f->get("var") == var) return true;
  return false;
}

}  // namespace parley::xep::caps
