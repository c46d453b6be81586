// Internal to s2s/: the federation metrics (core/metrics.h), shared by the links.
#pragma once

#include "core/metrics.h"
#include "s2s/s2s.h"

namespace parley::s2s {

struct S2s::Metrics {
  explicit Metrics(parley::Metrics& m);
  Metric& incoming;       // open incoming links
  Metric& outgoing;       // open outgoing links
  Metric& incoming_auth;  // domains authenticated on incoming links
  Metric& outgoing_ready;
  Metric& stanzas_in;
  Metric& stanzas_out;
  Metric& bounced;  // stanzas bounced because a link could not be set up
};

}  // namespace parley::s2s
