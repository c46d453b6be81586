#include "core/events.h"

#include <exception>

#include "core/log.h"

namespace parley {

HookToken& HookToken::operator=(HookToken&& o) noexcept {
  if (this != &o) {
    reset();
    hooks_ = o.hooks_;
    type_ = o.type_;
    id_ = o.id_;
    o.hooks_ = nullptr;
  }
  return *this;
}

void HookToken::reset() {
  if (hooks_) hooks_->remove(type_, id_);
  hooks_ = nullptr;
}

uint64_t Hooks::add(std::type_index type, int priority, std::function<Flow(void*)> fn,
                    std::string owner) {
  std::unique_lock lock(mutex_);
  // Under the lock: the list is then ordered by priority and, within one priority, by id, so
  // that "registration order" means the same thing for every thread.
  uint64_t id = next_id_++;
  auto& slot = lists_[type];
  auto list = slot ? std::make_shared<List>(*slot) : std::make_shared<List>();
  Entry entry{priority, id, std::move(fn), std::move(owner)};
  // Stable: equal priorities run in registration order.
  auto pos = std::upper_bound(list->begin(), list->end(), priority,
                              [](int p, const Entry& e) { return p > e.priority; });
  list->insert(pos, std::move(entry));
  slot = std::move(list);
  return id;
}

void Hooks::remove(std::type_index type, uint64_t id) {
  std::unique_lock lock(mutex_);
  auto it = lists_.find(type);
  if (it == lists_.end()) return;
  auto list = std::make_shared<List>(*it->second);
  std::erase_if(*list, [id](const Entry& e) { return e.id == id; });
  if (list->empty())
    lists_.erase(it);
  else
    it->second = std::move(list);
}

std::shared_ptr<const Hooks::List> Hooks::snapshot(std::type_index type) const {
  std::shared_lock lock(mutex_);
  auto it = lists_.find(type);
  return it == lists_.end() ? nullptr : it->second;
}

Fired Hooks::fire_erased(std::type_index type, std::string_view name, void* event) const {
  auto list = snapshot(type);
  if (!list) return {};
  for (const auto& entry : *list) {
    try {
      if (entry.fn(event) == Flow::Stop) return {true, false};
    } catch (const std::exception& e) {
      PLOG(Error, "events") << "handler of " << name << " in " << entry.owner
                            << " threw: " << e.what();
      return {true, true};
    } catch (...) {
      PLOG(Error, "events") << "handler of " << name << " in " << entry.owner << " threw";
      return {true, true};
    }
  }
  return {};
}

}  // namespace parley
