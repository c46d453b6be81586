#include "test_ca.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace parley::testca {
namespace {

struct Free {
  void operator()(X509* x) const { X509_free(x); }
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(GENERAL_NAMES* n) const { GENERAL_NAMES_free(n); }
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using X509Ptr = std::unique_ptr<X509, Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using FilePtr = std::unique_ptr<std::FILE, Free>;

void check(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("test CA: " + what + " failed");
}

FilePtr open(const std::string& path, const char* mode) {
  FilePtr f(std::fopen(path.c_str(), mode));
  check(f != nullptr, "opening " + path);
  return f;
}

void write_pem(const std::string& cert_path, const std::string& key_path, X509* x, EVP_PKEY* k) {
  check(PEM_write_X509(open(cert_path, "w").get(), x) == 1, "writing " + cert_path);
  check(PEM_write_PrivateKey(open(key_path, "w").get(), k, nullptr, nullptr, 0, nullptr, nullptr) ==
            1,
        "writing " + key_path);
}

// One extension in OpenSSL's config syntax, e.g. "critical,CA:TRUE".
void add_ext(X509* x, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, std::string("extension ") + OBJ_nid2sn(nid) + "=" + value);
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

// A fresh certificate with a random serial, valid from `from_days` to `to_days` from now.
X509Ptr new_cert(EVP_PKEY* key, long from_days, long to_days) {
  X509Ptr x(X509_new());
  check(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  BIGNUM* serial = BN_new();
  check(serial && BN_rand(serial, 63, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1, "serial");
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x.get()));
  BN_free(serial);
  X509_time_adj_ex(X509_getm_notBefore(x.get()), static_cast<int>(from_days), -3600, nullptr);
  X509_time_adj_ex(X509_getm_notAfter(x.get()), static_cast<int>(to_days), 0, nullptr);
  X509_set_pubkey(x.get(), key);
  return x;
}

void add_name(X509_NAME* name, const char* field, const std::string& value) {
  check(X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) == 1,
        std::string("subject ") + field);
}

void push_other_name(GENERAL_NAMES* names, const char* oid, int type, const std::string& value) {
  ASN1_STRING* s = ASN1_STRING_type_new(type);
  ASN1_STRING_set(s, value.data(), static_cast<int>(value.size()));
  ASN1_TYPE* t = ASN1_TYPE_new();
  ASN1_TYPE_set(t, type, s);
  GENERAL_NAME* g = GENERAL_NAME_new();
  check(GENERAL_NAME_set0_othername(g, OBJ_txt2obj(oid, 1), t) == 1, "otherName");
  sk_GENERAL_NAME_push(names, g);
}

void add_san(X509* x, const CertSpec& spec) {
  std::unique_ptr<GENERAL_NAMES, Free> names(sk_GENERAL_NAME_new_null());
  for (const auto& dns : spec.dns_ids) {
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, dns.data(), static_cast<int>(dns.size()));
    GENERAL_NAME* g = GENERAL_NAME_new();
    GENERAL_NAME_set0_value(g, GEN_DNS, s);
    sk_GENERAL_NAME_push(names.get(), g);
  }
  for (const auto& srv : spec.srv_ids)
    push_other_name(names.get(), "1.3.6.1.5.5.7.8.7", V_ASN1_IA5STRING, srv);
  for (const auto& addr : spec.xmpp_addrs)
    push_other_name(names.get(), "1.3.6.1.5.5.7.8.5", V_ASN1_UTF8STRING, addr);
  if (sk_GENERAL_NAME_num(names.get()) == 0) return;
  // Critical when the subject is empty (RFC 5280 §4.2.1.6).
  check(X509_add1_ext_i2d(x, NID_subject_alt_name, names.get(), spec.common_name.empty() ? 1 : 0,
                          X509V3_ADD_DEFAULT) == 1,
        "subjectAltName");
}

}  // namespace

TestCa make_ca(const std::string& dir, const std::string& name) {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key generation");
  X509Ptr x = new_cert(key.get(), 0, 365);
  add_name(X509_get_subject_name(x.get()), "O", "Parley tests");
  add_name(X509_get_subject_name(x.get()), "CN", name);
  X509_set_issuer_name(x.get(), X509_get_subject_name(x.get()));
  add_ext(x.get(), x.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_ext(x.get(), x.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(x.get(), x.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(x.get(), key.get(), EVP_sha256()) > 0, "signing the CA");
  TestCa ca{dir + "/ca.crt", dir + "/ca.key"};
  write_pem(ca.cert_path, ca.key_path, x.get(), key.get());
  return ca;
}

std::pair<std::string, std::string> make_cert(const std::string& dir, const std::string& file_stem,
                                              const CertSpec& spec, const TestCa* ca) {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EC key generation");
  long from = spec.expired ? -spec.days_valid - 1 : 0;
  long to = spec.expired ? -1 : spec.days_valid;
  X509Ptr x = new_cert(key.get(), from, to);
  X509_NAME* subject = X509_get_subject_name(x.get());
  if (!spec.common_name.empty()) add_name(subject, "CN", spec.common_name);

  X509Ptr issuer;
  KeyPtr issuer_key;
  if (ca) {
    issuer.reset(PEM_read_X509(open(ca->cert_path, "r").get(), nullptr, nullptr, nullptr));
    check(issuer != nullptr, "reading " + ca->cert_path);
    issuer_key.reset(PEM_read_PrivateKey(open(ca->key_path, "r").get(), nullptr, nullptr, nullptr));
    check(issuer_key != nullptr, "reading " + ca->key_path);
    X509_set_issuer_name(x.get(), X509_get_subject_name(issuer.get()));
  } else {
    X509_set_issuer_name(x.get(), subject);
  }
  X509* signer = ca ? issuer.get() : x.get();
  add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(x.get(), signer, NID_key_usage, "critical,digitalSignature");
  add_ext(x.get(), signer, NID_ext_key_usage,
          spec.client_auth ? "serverAuth,clientAuth" : "serverAuth");
  add_ext(x.get(), signer, NID_subject_key_identifier, "hash");
  if (ca) add_ext(x.get(), signer, NID_authority_key_identifier, "keyid:always");
  add_san(x.get(), spec);
  check(X509_sign(x.get(), ca ? issuer_key.get() : key.get(), EVP_sha256()) > 0,
        "signing " + file_stem);
  std::pair<std::string, std::string> paths{dir + "/" + file_stem + ".crt",
                                            dir + "/" + file_stem + ".key"};
  write_pem(paths.first, paths.second, x.get(), key.get());
  return paths;
}

}  // namespace parley::testca
