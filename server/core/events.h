// Typed, priority-ordered events (DESIGN §4). An event is a plain C++ struct with a
// `static constexpr std::string_view kName`. Handlers run from the highest priority down and
// return Flow::Stop to end the chain. A handler that throws is logged with the event and owner
// names and the chain stops with `failed` set, so the firing site can answer
// internal-server-error.
//
// A handler that has to wait (for the database) suspends the chain: it takes position(),
// returns Flow::Stop, and later, on any thread, calls fire_after() with its copy of the event
// to run the handlers after it. router/continuation.h does this for the router's events.
#pragma once

#include <algorithm>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <vector>

namespace parley {

enum class Flow { Continue, Stop };

struct Fired {
  bool stopped = false;  // a handler returned Flow::Stop (or failed)
  bool failed = false;   // a handler threw
};

// Priorities: modules use the range around 0; the core's default behaviour runs last.
namespace priority {
inline constexpr int kFirst = 1000;  // filters that must see everything (blocking, limits)
inline constexpr int kNormal = 0;
inline constexpr int kDefault = -1000;  // the core's own default handler

// Stages of a message's way to a local account (MessageToBare / MessageToFull), so features
// compose without knowing each other (doc/MODULE_API.md has the table):
inline constexpr int kFilter = 900;  // drop or refuse (blocking, XEP-0191)
inline constexpr int kStamp = 200;   // archive and add <stanza-id/> (XEP-0313, XEP-0359)
inline constexpr int kStore = 100;   // keep for later when nobody is online (XEP-0160)
inline constexpr int kCopy = 50;     // copies to the user's other devices (XEP-0280)
}  // namespace priority

class Hooks;

// Removes its registration when destroyed (or on reset()). Move-only.
class HookToken {
 public:
  HookToken() = default;
  HookToken(Hooks* hooks, std::type_index type, uint64_t id)
      : hooks_(hooks), type_(type), id_(id) {}
  HookToken(HookToken&& o) noexcept { *this = std::move(o); }
  HookToken& operator=(HookToken&& o) noexcept;
  HookToken(const HookToken&) = delete;
  HookToken& operator=(const HookToken&) = delete;
  ~HookToken() { reset(); }
  void reset();

 private:
  Hooks* hooks_ = nullptr;
  std::type_index type_ = typeid(void);
  uint64_t id_ = 0;
};

class Hooks {
 public:
  template <class E>
  using Handler = std::function<Flow(E&)>;

  template <class E>
  [[nodiscard]] HookToken on(int priority, Handler<E> handler, std::string owner = "core") {
    auto erased = [h = std::move(handler)](void* e) { return h(*static_cast<E*>(e)); };
    uint64_t id = add(typeid(E), priority, std::move(erased), std::move(owner));
    return HookToken(this, typeid(E), id);
  }

  template <class E>
  Fired fire(E& event) const {
    return fire_erased(typeid(E), E::kName, &event, nullptr);
  }

  // Where a chain stands: the handler that is running. Three words, owning nothing.
  struct Position {
    std::type_index type = typeid(void);
    int priority = 0;
    uint64_t id = 0;
  };

  // The position of the handler this thread is running (the innermost one, when a handler
  // fires another event). Only inside a handler of this Hooks: throws std::logic_error
  // elsewhere.
  Position position() const;

  // Runs the handlers after `at` on `event`, as fire() would have, from any thread. The chain
  // is the one registered now, continued after `at`'s place in the order: a handler removed
  // meanwhile (its module unloaded) is not called, one added meanwhile below `at` is. Handlers
  // run this way may suspend again.
  template <class E>
  Fired fire_after(E& event, const Position& at) const {
    if (at.type != typeid(E))
      throw std::logic_error("Hooks::fire_after: a position of another event");
    return fire_erased(typeid(E), E::kName, &event, &at);
  }

  template <class E>
  bool has_handlers() const {
    return snapshot(typeid(E)) != nullptr;
  }

  void remove(std::type_index type, uint64_t id);

 private:
  struct Entry {
    int priority;
    uint64_t id;
    std::function<Flow(void*)> fn;
    std::string owner;
  };
  using List = std::vector<Entry>;

  uint64_t add(std::type_index type, int priority, std::function<Flow(void*)> fn,
               std::string owner);
  std::shared_ptr<const List> snapshot(std::type_index type) const;
  // `after`: start after that position instead of at the first handler.
  Fired fire_erased(std::type_index type, std::string_view name, void* event,
                    const Position* after) const;

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::type_index, std::shared_ptr<const List>> lists_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace parley
