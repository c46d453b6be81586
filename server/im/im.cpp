#include "im/im.h"

#include "core/server.h"
#include "im/presence.h"
#include "im/roster.h"

namespace parley {

Im::Im(Server& server) {
  registrations_ = im::register_roster(server);
  hooks_ = im::register_presence(server);
  auto& features = server.features();
  // XEP-0237 §2.1: roster versioning is announced as a stream feature.
  registrations_.push_back(features.add_stream_feature(
      StreamStage::PostAuth, xml::Element("ver", "urn:xmpp:features:rosterver")));
  // RFC 6121 §3.4.1: subscription pre-approval.
  registrations_.push_back(features.add_stream_feature(
      StreamStage::PostAuth, xml::Element("sub", "urn:xmpp:features:pre-approval")));
}

Im::~Im() = default;

}  // namespace parley
