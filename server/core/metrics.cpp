#include "core/metrics.h"

#include <set>

namespace parley {

Metric& Metrics::get(const std::string& name, const std::string& labels, const char* kind,
                     const std::string& help) {
  std::lock_guard lock(mutex_);
  for (auto& e : entries_)
    if (e.name == name && e.labels == labels) return e.metric;
  auto& e = entries_.emplace_back();
  e.name = name;
  e.labels = labels;
  e.kind = kind;
  e.help = help;
  return e.metric;
}

std::string Metrics::prometheus() const {
  std::lock_guard lock(mutex_);
  std::string out;
  std::set<std::string> described;
  for (const auto& e : entries_) {
    if (described.insert(e.name).second) {
      if (!e.help.empty()) out += "# HELP " + e.name + " " + e.help + "\n";
      out += "# TYPE " + e.name + " " + e.kind + "\n";
    }
    out += e.name;
    if (!e.labels.empty()) out += "{" + e.labels + "}";
    out += " " + std::to_string(e.metric.value()) + "\n";
  }
  return out;
}

}  // namespace parley
