// libFuzzer target: arbitrary bytes as SASL client messages to every mechanism (SCRAM-*, -PLUS,
// PLAIN). The input is split at the first NUL-NUL pair into client-first and client-final; it
// is also sent as a client-final after a well-formed client-first, so the proof parser is
// reached without the fuzzer having to discover a valid first message.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sasl/credentials.h"
#include "sasl/mechanism.h"

using namespace parley::sasl;

namespace {

const Credentials& credentials() {
  // One iteration keeps the fuzzer fast; the parsers do not care about the count.
  static const Credentials creds = derive("pencil", 1);
  return creds;
}

ChannelBindings bindings() {
  ChannelBindings cb;
  cb.tls = true;
  cb.tls_exporter = std::string(32, '\x01');
  cb.tls_server_end_point = std::string(32, '\x02');
  return cb;
}

void drive(Mechanism& m, std::string_view first, std::string_view final, bool known) {
  Step s = m.start(first);
  for (int round = 0; round < 4; ++round) {
    switch (s.status) {
      case Step::Status::NeedCredentials:
        s = known ? m.resume(credentials()) : m.resume(std::nullopt);
        break;
      case Step::Status::NeedPasswordCheck: {
        std::string pw = m.take_password();
        s = m.finish_password_check(pw == "pencil");
        break;
      }
      case Step::Status::Challenge:
        s = m.step(round == 0 && first.empty() ? first : final);
        break;
      case Step::Status::Success:
      case Step::Status::Failure:
        // Anything after the outcome must keep failing.
        m.step(final);
        return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t sep = in.find(std::string_view("\0\0", 2));
  std::string_view first = in.substr(0, sep);
  std::string_view final = sep == in.npos ? std::string_view{} : in.substr(sep + 2);
  const ChannelBindings cb = bindings();
  const bool known = size % 2 == 0;
  for (const auto& name : offered(cb, {})) {
    if (auto m = create(name, cb)) drive(*m, first, final, known);
    if (auto m = create(name, cb)) {
      bool plus = name.size() > 5 && name.substr(name.size() - 5) == "-PLUS";
      drive(*m, plus ? "p=tls-exporter,,n=user,r=abc" : "n,,n=user,r=abc", in, known);
    }
  }
  return 0;
}
