// Inbox: the consumer is woken when what it asked for is there (enough
// counted items, or any control message), and not before; a deadline hands
// over whatever waits; capacity bounds counted items only.
#include <chrono>
#include <future>
#include <thread>

#include <catch2/catch.hpp>

#include "inbox.h"

namespace citycard::engine::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

void push(Inbox<int>& inbox, int value) {
  std::vector<int> one{value};
  REQUIRE(inbox.try_push_counted(one));
}

// The consumer sleeps in pop_all(wake_at) on its own thread; the test pushes
// and learns what it woke with. The deadline is far away: a wake before it
// is a notify, not a timeout.
struct Consumer {
  Inbox<int>& inbox;
  std::vector<int> got;
  std::future<std::size_t> done;
  Consumer(Inbox<int>& box, std::size_t wake_at, Clock::duration patience = 60s) : inbox(box) {
    auto deadline = Clock::now() + patience;
    done = std::async(std::launch::async, [this, deadline, wake_at] { return inbox.pop_all(got, deadline, wake_at); });
  }
  bool woke_within(std::chrono::milliseconds wait) { return done.wait_for(wait) == std::future_status::ready; }
};

TEST_CASE("a consumer asking for three counted items is not woken by one or two") {
  Inbox<int> inbox(100);
  Consumer consumer(inbox, 3);
  push(inbox, 1);
  push(inbox, 2);
  CHECK_FALSE(consumer.woke_within(150ms));
  push(inbox, 3);
  REQUIRE(consumer.woke_within(10s));
  CHECK(consumer.done.get() == 3);
  CHECK(consumer.got == std::vector<int>{1, 2, 3});
  CHECK(inbox.depth() == 0);
}

TEST_CASE("a batch push that reaches the threshold at once wakes the consumer with all of it") {
  Inbox<int> inbox(100);
  Consumer consumer(inbox, 4);
  std::vector<int> five{1, 2, 3, 4, 5};
  REQUIRE(inbox.try_push_counted(five));
  REQUIRE(consumer.woke_within(10s));
  CHECK(consumer.done.get() == 5);
}

TEST_CASE("a control message wakes the consumer whatever its threshold, with the counted items before it") {
  Inbox<int> inbox(100);
  Consumer consumer(inbox, 50);
  push(inbox, 7);
  CHECK_FALSE(consumer.woke_within(150ms));
  inbox.push_control(-1);
  REQUIRE(consumer.woke_within(10s));
  CHECK(consumer.done.get() == 2);
  CHECK(consumer.got == std::vector<int>{7, -1});
}

TEST_CASE("items waiting already satisfy the threshold without any wake") {
  Inbox<int> inbox(100);
  push(inbox, 1);
  push(inbox, 2);
  std::vector<int> got;
  CHECK(inbox.pop_all(got, Clock::now() + 60s, 2) == 2);
  inbox.push_control(9);
  got.clear();
  CHECK(inbox.pop_all(got, Clock::now() + 60s, 1000) == 1);
}

TEST_CASE("the deadline hands over what waits below the threshold") {
  Inbox<int> inbox(100);
  push(inbox, 1);
  std::vector<int> got;
  CHECK(inbox.pop_all(got, Clock::now() + 20ms, 10) == 1);
  CHECK(got == std::vector<int>{1});
  got.clear();
  CHECK(inbox.pop_all(got, Clock::now() + 20ms, 10) == 0);
  CHECK(got.empty());
}

TEST_CASE("a threshold above half the capacity is lowered to it, so a filling queue wakes its consumer") {
  Inbox<int> inbox(8);
  Consumer consumer(inbox, 1000);
  for (int i = 0; i < 3; ++i) push(inbox, i);
  CHECK_FALSE(consumer.woke_within(150ms));
  push(inbox, 3);
  REQUIRE(consumer.woke_within(10s));
  CHECK(consumer.done.get() == 4);
}

TEST_CASE("counted items are refused beyond capacity, all or nothing, and control messages are always taken") {
  Inbox<int> inbox(4);
  std::vector<int> three{1, 2, 3};
  REQUIRE(inbox.try_push_counted(three));
  std::vector<int> two{4, 5};
  CHECK_FALSE(inbox.try_push_counted(two));
  CHECK(two == std::vector<int>{4, 5});
  CHECK(inbox.depth() == 3);
  inbox.push_control(-1);
  inbox.push_control(-2);
  CHECK(inbox.depth() == 3);
  std::vector<int> got;
  CHECK(inbox.pop_all(got, Clock::now(), 1) == 5);
  CHECK(inbox.depth() == 0);
  std::vector<int> four{6, 7, 8, 9};
  CHECK(inbox.try_push_counted(four));
}

}  // namespace
}  // namespace citycard::engine::testing
