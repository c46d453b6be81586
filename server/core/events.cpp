#include "core/events.h"

#include <exception>

#include "core/log.h"

namespace parley {

namespace {

// The handler a fire_erased() call is running, linked to the one of the fire it is nested in:
// a stack of positions per thread, for Hooks::position(). Each frame lives on the stack of
// its fire_erased() call: no allocation, one thread-local read and two stores per fire, one
// plain store per handler.
struct Frame {
  const Hooks* hooks;
  std::type_index type;
  const void* entry;  // the Hooks::Entry running, in the snapshot the fire holds
  const Frame* outer;
};
// initial-exec: libparley is loaded with the program (never dlopen'ed), so the variable sits
// at a fixed offset from the thread pointer, without a __tls_get_addr call per fire.
[[gnu::tls_model("initial-exec")]] thread_local const Frame* t_running = nullptr;

// Pops the frame however the loop ends.
struct Running {
  Frame frame;
  explicit Running(const Frame& f) : frame(f) { t_running = &frame; }
  ~Running() { t_running = frame.outer; }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
};

}  // namespace

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
  // that "registration order" means the same thing for every thread (and fire_after can find
  // its place by priority and id).
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

Hooks::Position Hooks::position() const {
  const Frame* f = t_running;
  if (!f || f->hooks != this || !f->entry)
    throw std::logic_error("Hooks::position() outside a handler");
  const auto* entry = static_cast<const Entry*>(f->entry);
  return {f->type, entry->priority, entry->id};
}

Fired Hooks::fire_erased(std::type_index type, std::string_view name, void* event,
                         const Position* after) const {
  auto list = snapshot(type);
  if (!list) return {};
  auto first = list->begin();
  const auto end = list->end();
  if (after) {
    // The list is ordered by priority (higher first), then id: the first entry past `after`,
    // whether or not its own entry is still registered.
    first = std::upper_bound(first, end, *after, [](const Position& p, const Entry& e) {
      return p.priority != e.priority ? p.priority > e.priority : p.id < e.id;
    });
  }
  Running running({this, type, nullptr, t_running});
  for (auto it = first; it != end; ++it) {
    const Entry& entry = *it;
    running.frame.entry = &entry;
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
