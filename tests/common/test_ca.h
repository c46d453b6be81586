// A certificate authority for tests (unit and integration): ECDSA P-256 keys and X.509 v3
// certificates made with the OpenSSL API (no openssl command), written as PEM files.
// Leaf certificates carry the names XMPP servers are identified by (RFC 6120 §13.7.1.2,
// RFC 6125): DNS-IDs, SRV-IDs (otherName id-on-dnsSRV) and XmppAddrs (otherName
// id-on-xmppAddr). Throws std::runtime_error on any failure.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace parley::testca {

struct TestCa {
  std::string cert_path, key_path;
};

// A self-signed CA certificate (basicConstraints CA:TRUE) valid for a year; writes
// <dir>/ca.crt and <dir>/ca.key.
TestCa make_ca(const std::string& dir, const std::string& name = "Parley Test CA");

struct CertSpec {
  std::vector<std::string> dns_ids;     // subjectAltName dNSName
  std::vector<std::string> srv_ids;     // "_xmpp-server.example.org" (IA5String otherName)
  std::vector<std::string> xmpp_addrs;  // "example.org" (UTF8String otherName)
  std::string common_name;              // subject CN; empty = none
  int days_valid = 30;
  bool expired = false;     // valid for days_valid days, ended yesterday
  bool client_auth = true;  // clientAuth in the extended key usage, next to serverAuth
};

// A leaf certificate signed by `ca` (self-signed when ca is null), with the serverAuth (and
// clientAuth) EKU and no subjectAltName at all when the spec has no SAN; writes
// <dir>/<file_stem>.crt and <dir>/<file_stem>.key and returns {cert path, key path}.
std::pair<std::string, std::string> make_cert(const std::string& dir, const std::string& file_stem,
                                              const CertSpec& spec, const TestCa* ca);

}  // namespace parley::testca
