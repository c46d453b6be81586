// Hooks (server/core/events.h): priority order, Stop and throwing handlers, and suspension — a
// handler takes position(), and fire_after() later runs the handlers after it on the same
// event, from any thread, with the handlers registered by then.
#include "core/events.h"

#include <gtest/gtest.h>

#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace parley {
namespace {

struct Ping {
  static constexpr std::string_view kName = "test/ping";
  std::vector<std::string> seen;
};
struct Pong {
  static constexpr std::string_view kName = "test/pong";
  std::vector<std::string> seen;
};

// A handler that records its name and goes on.
Hooks::Handler<Ping> mark(std::string name) {
  return [name](Ping& e) {
    e.seen.push_back(name);
    return Flow::Continue;
  };
}

using Names = std::vector<std::string>;

TEST(Hooks, HandlersRunByPriorityThenRegistrationOrder) {
  Hooks hooks;
  auto low = hooks.on<Ping>(-5, mark("low"));
  auto first = hooks.on<Ping>(10, mark("first"));
  auto second = hooks.on<Ping>(10, mark("second"));
  auto top = hooks.on<Ping>(100, mark("top"));
  Ping e;
  Fired fired = hooks.fire(e);
  EXPECT_FALSE(fired.stopped);
  EXPECT_EQ(e.seen, (Names{"top", "first", "second", "low"}));
}

TEST(Hooks, StopEndsTheChainAndAThrowFailsIt) {
  Hooks hooks;
  auto a = hooks.on<Ping>(2, mark("a"));
  auto stop = hooks.on<Ping>(1, [](Ping& e) {
    e.seen.push_back("stop");
    return Flow::Stop;
  });
  auto b = hooks.on<Ping>(0, mark("b"));
  Ping e;
  Fired fired = hooks.fire(e);
  EXPECT_TRUE(fired.stopped);
  EXPECT_FALSE(fired.failed);
  EXPECT_EQ(e.seen, (Names{"a", "stop"}));

  stop.reset();
  auto boom = hooks.on<Ping>(1, [](Ping&) -> Flow { throw std::runtime_error("boom"); });
  Ping f;
  fired = hooks.fire(f);
  EXPECT_TRUE(fired.stopped);
  EXPECT_TRUE(fired.failed);
  EXPECT_EQ(f.seen, (Names{"a"}));
}

TEST(Hooks, PositionIsOnlyKnownInsideAHandler) {
  Hooks hooks;
  EXPECT_THROW(hooks.position(), std::logic_error);
  Hooks other;
  bool threw_for_other = false;
  auto t = hooks.on<Ping>(0, [&](Ping&) {
    EXPECT_NO_THROW(hooks.position());
    try {
      other.position();  // running a handler of `hooks`, not of `other`
    } catch (const std::logic_error&) {
      threw_for_other = true;
    }
    return Flow::Continue;
  });
  Ping e;
  hooks.fire(e);
  EXPECT_TRUE(threw_for_other);
  EXPECT_THROW(hooks.position(), std::logic_error) << "the position outlived the fire";
}

// The common case: a handler suspends, the chain stops, and resuming runs the rest once.
class Suspension : public ::testing::Test {
 protected:
  // Registers a handler at `priority` that suspends the first time it sees an event.
  HookToken suspender(int priority) {
    return hooks.on<Ping>(priority, [this](Ping& e) {
      e.seen.push_back("suspend");
      at = hooks.position();
      copy = e;
      return Flow::Stop;
    });
  }
  Hooks hooks;
  std::optional<Hooks::Position> at;
  Ping copy;
};

TEST_F(Suspension, ResumingRunsOnlyTheHandlersAfterTheSuspendedOneInOrder) {
  auto above = hooks.on<Ping>(50, mark("above"));
  auto s = suspender(10);
  auto same_after = hooks.on<Ping>(10, mark("same priority, later"));
  auto below = hooks.on<Ping>(0, mark("below"));
  auto lowest = hooks.on<Ping>(-100, mark("lowest"));
  Ping e;
  EXPECT_TRUE(hooks.fire(e).stopped);
  ASSERT_TRUE(at);
  EXPECT_EQ(e.seen, (Names{"above", "suspend"}));

  Fired fired = hooks.fire_after(copy, *at);
  EXPECT_FALSE(fired.stopped);
  EXPECT_EQ(copy.seen, (Names{"above", "suspend", "same priority, later", "below", "lowest"}));
}

TEST_F(Suspension, AResumedChainStopsAndFailsAsAFireDoes) {
  auto s = suspender(10);
  auto stop = hooks.on<Ping>(5, [](Ping&) { return Flow::Stop; });
  auto never = hooks.on<Ping>(0, mark("never"));
  Ping e;
  hooks.fire(e);
  ASSERT_TRUE(at);
  Fired fired = hooks.fire_after(copy, *at);
  EXPECT_TRUE(fired.stopped);
  EXPECT_FALSE(fired.failed);

  stop.reset();
  auto boom = hooks.on<Ping>(5, [](Ping&) -> Flow { throw std::runtime_error("late"); });
  fired = hooks.fire_after(copy, *at);
  EXPECT_TRUE(fired.stopped);
  EXPECT_TRUE(fired.failed);
  EXPECT_EQ(copy.seen, (Names{"suspend"})) << "a handler after the one that threw ran";
}

TEST_F(Suspension, ResumesFromAnotherThread) {
  auto s = suspender(10);
  std::thread::id ran_on;
  auto after = hooks.on<Ping>(0, [&](Ping& e) {
    ran_on = std::this_thread::get_id();
    e.seen.push_back("after");
    // The resumed handler has a position of its own on that thread: it may suspend again.
    EXPECT_NO_THROW(hooks.position());
    return Flow::Continue;
  });
  Ping e;
  hooks.fire(e);
  ASSERT_TRUE(at);
  Fired fired;
  std::thread worker([&] { fired = hooks.fire_after(copy, *at); });
  worker.join();
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_FALSE(fired.stopped);
  EXPECT_EQ(copy.seen, (Names{"suspend", "after"}));
}

TEST_F(Suspension, AHandlerAfterTheSuspensionRemovedMeanwhileIsNotCalled) {
  // What unloading a module does to its handlers (ModuleContext drops its HookTokens).
  auto s = suspender(10);
  auto unloaded = hooks.on<Ping>(5, mark("unloaded"));
  auto kept = hooks.on<Ping>(0, mark("kept"));
  Ping e;
  hooks.fire(e);
  ASSERT_TRUE(at);
  unloaded.reset();
  hooks.fire_after(copy, *at);
  EXPECT_EQ(copy.seen, (Names{"suspend", "kept"}));
}

TEST_F(Suspension, TheChainGoesOnFromItsPlaceEvenIfTheSuspendedHandlerIsGone) {
  auto before = hooks.on<Ping>(20, mark("before"));
  auto s = suspender(10);
  auto after = hooks.on<Ping>(0, mark("after"));
  Ping e;
  hooks.fire(e);
  ASSERT_TRUE(at);
  s.reset();
  // Registered meanwhile: one above the place is not run, one below it is.
  auto new_above = hooks.on<Ping>(15, mark("new above"));
  auto new_below = hooks.on<Ping>(-1, mark("new below"));
  auto new_same = hooks.on<Ping>(10, mark("new, same priority"));  // later than the suspended
  hooks.fire_after(copy, *at);
  EXPECT_EQ(copy.seen, (Names{"before", "suspend", "new, same priority", "after", "new below"}));
}

TEST_F(Suspension, ResumingAfterTheLastHandlerRunsNothing) {
  auto s = suspender(-50);
  Ping e;
  hooks.fire(e);
  ASSERT_TRUE(at);
  Fired fired = hooks.fire_after(copy, *at);
  EXPECT_FALSE(fired.stopped);
  s.reset();  // no handler of the event at all any more
  fired = hooks.fire_after(copy, *at);
  EXPECT_FALSE(fired.stopped);
  EXPECT_EQ(copy.seen, (Names{"suspend"}));
}

TEST_F(Suspension, APositionBelongsToItsEvent) {
  auto s = suspender(10);
  Ping e;
  hooks.fire(e);
  ASSERT_TRUE(at);
  Pong other;
  EXPECT_THROW(hooks.fire_after(other, *at), std::logic_error);
}

TEST(HooksNesting, AHandlerThatFiresAnotherEventKeepsItsOwnPosition) {
  Hooks hooks;
  std::optional<Hooks::Position> outer_before, inner, outer_after;
  auto p = hooks.on<Ping>(7, [&](Ping&) {
    outer_before = hooks.position();
    Pong nested;
    hooks.fire(nested);
    outer_after = hooks.position();
    return Flow::Continue;
  });
  auto q = hooks.on<Pong>(3, [&](Pong&) {
    inner = hooks.position();
    return Flow::Continue;
  });
  Ping e;
  hooks.fire(e);
  ASSERT_TRUE(outer_before && inner && outer_after);
  EXPECT_EQ(outer_before->type, std::type_index(typeid(Ping)));
  EXPECT_EQ(outer_before->priority, 7);
  EXPECT_EQ(inner->type, std::type_index(typeid(Pong)));
  EXPECT_EQ(inner->priority, 3);
  EXPECT_EQ(outer_after->type, std::type_index(typeid(Ping)));
  EXPECT_EQ(outer_after->id, outer_before->id);
}

TEST(HooksNesting, ASuspensionInsideANestedFireResumesTheNestedChain) {
  Hooks hooks;
  std::optional<Hooks::Position> at;
  Pong copy;
  auto outer = hooks.on<Ping>(0, [&](Ping& e) {
    Pong nested;
    hooks.fire(nested);
    e.seen.push_back("outer went on");
    return Flow::Continue;
  });
  auto outer_later = hooks.on<Ping>(-1, mark("outer later"));
  auto waits = hooks.on<Pong>(5, [&](Pong& e) {
    at = hooks.position();
    copy = e;
    return Flow::Stop;
  });
  auto rest = hooks.on<Pong>(1, [](Pong& e) {
    e.seen.push_back("nested rest");
    return Flow::Continue;
  });
  Ping e;
  hooks.fire(e);
  EXPECT_EQ(e.seen, (Names{"outer went on", "outer later"}));
  ASSERT_TRUE(at);
  EXPECT_EQ(at->type, std::type_index(typeid(Pong)));
  hooks.fire_after(copy, *at);
  EXPECT_EQ(copy.seen, (Names{"nested rest"}));
}

// fire_after finds its place by (priority, id): registrations racing at one priority must get
// ids in the order they land in the list.
TEST(HooksIds, EqualPrioritiesRunInIdOrderWhateverThreadRegisteredThem) {
  Hooks hooks;
  std::vector<HookToken> tokens[4];
  std::vector<uint64_t> ids;
  std::vector<std::thread> threads;
  for (auto& mine : tokens)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        mine.push_back(hooks.on<Ping>(0, [&](Ping&) {
          ids.push_back(hooks.position().id);
          return Flow::Continue;
        }));
    });
  for (auto& t : threads) t.join();
  Ping e;
  hooks.fire(e);
  ASSERT_EQ(ids.size(), 800u);
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << "at " << i;
}

}  // namespace
}  // namespace parley
