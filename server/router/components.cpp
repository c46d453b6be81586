#include "router/components.h"

#include <mutex>
#include <stdexcept>

namespace parley {

Registration Components::add(std::string domain, Handler handler) {
  auto h = std::make_shared<const Handler>(std::move(handler));
  {
    std::unique_lock lock(mutex_);
    if (!handlers_.emplace(domain, h).second)
      throw std::invalid_argument("the domain " + domain + " is already a component");
  }
  return Registration([this, domain = std::move(domain), h] {
    std::unique_lock lock(mutex_);
    auto it = handlers_.find(domain);
    if (it != handlers_.end() && it->second == h) handlers_.erase(it);
  });
}

std::shared_ptr<const Components::Handler> Components::find(std::string_view domain) const {
  std::shared_lock lock(mutex_);
  auto it = handlers_.find(domain);
  return it == handlers_.end() ? nullptr : it->second;
}

std::vector<std::string> Components::domains() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [d, h] : handlers_) out.push_back(d);
  return out;
}

}  // namespace parley
