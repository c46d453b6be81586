#include "core/features.h"

#include <algorithm>

namespace parley {

template <class T>
Registration Features::add_item(std::vector<Item<T>>& list, int scope, T value) {
  std::lock_guard lock(mutex_);
  uint64_t id = next_id_++;
  list.push_back({id, scope, std::move(value)});
  return Registration([this, &list, id] {
    std::lock_guard lock(mutex_);
    std::erase_if(list, [id](const Item<T>& i) { return i.id == id; });
  });
}

Registration Features::add(FeatureScope scope, std::string var) {
  return add_item(features_, static_cast<int>(scope), std::move(var));
}
Registration Features::add_identity(FeatureScope scope, Identity identity) {
  return add_item(identities_, static_cast<int>(scope), std::move(identity));
}
Registration Features::add_stream_feature(StreamStage stage, xml::Element feature) {
  return add_item(stream_features_, static_cast<int>(stage), std::move(feature));
}
Registration Features::add_extension(FeatureScope scope, xml::Element form) {
  return add_item(extensions_, static_cast<int>(scope), std::move(form));
}
Registration Features::add_disco_item(DiscoItem item) {
  return add_item(disco_items_, 0, std::move(item));
}

std::vector<std::string> Features::list(FeatureScope scope) const {
  std::vector<std::string> out;
  {
    std::lock_guard lock(mutex_);
    for (const auto& f : features_)
      if (f.scope == static_cast<int>(scope)) out.push_back(f.value);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<Identity> Features::identities(FeatureScope scope) const {
  std::lock_guard lock(mutex_);
  std::vector<Identity> out;
  for (const auto& i : identities_)
    if (i.scope == static_cast<int>(scope)) out.push_back(i.value);
  return out;
}

std::vector<xml::Element> Features::stream_features(StreamStage stage) const {
  std::lock_guard lock(mutex_);
  std::vector<xml::Element> out;
  for (const auto& i : stream_features_)
    if (i.scope == static_cast<int>(stage)) out.push_back(i.value);
  return out;
}

std::vector<xml::Element> Features::extensions(FeatureScope scope) const {
  std::lock_guard lock(mutex_);
  std::vector<xml::Element> out;
  for (const auto& i : extensions_)
    if (i.scope == static_cast<int>(scope)) out.push_back(i.value);
  return out;
}

std::vector<DiscoItem> Features::disco_items(std::string_view host) const {
  std::lock_guard lock(mutex_);
  std::vector<DiscoItem> out;
  for (const auto& i : disco_items_)
    if (i.value.host.empty() || i.value.host == host) out.push_back(i.value);
  return out;
}

}  // namespace parley
