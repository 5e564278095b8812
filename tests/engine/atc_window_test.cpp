// AtcWindow: card proof counters accepted once each, in any order within
// the window; the window's encoding round-trips and reads the old 4-byte form.
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "engine/groups/atc_window.h"

using citycard::engine::AtcWindow;
using Verdict = AtcWindow::Verdict;

TEST_CASE("atc window: counters in order, out of order, replayed and below the window") {
  AtcWindow window;
  CHECK(window.check(0) == Verdict::below_window);
  CHECK(window.check(100) == Verdict::fresh);
  window.accept(100);
  CHECK(window.check(100) == Verdict::replayed);
  CHECK(window.check(99) == Verdict::fresh);      // an offline tap uploaded after a later online one
  window.accept(99);
  CHECK(window.check(99) == Verdict::replayed);
  window.accept(105);
  CHECK(window.highest() == 105);
  CHECK(window.check(100) == Verdict::replayed);   // still remembered after the window slid
  CHECK(window.check(99) == Verdict::replayed);
  CHECK(window.check(101) == Verdict::fresh);
  window.accept(105 + 255);
  CHECK(window.check(105) == Verdict::replayed);             // the oldest counter the window holds
  CHECK(window.check(106) == Verdict::fresh);
  CHECK(window.check(104) == Verdict::below_window);         // older than the window can vouch for
  CHECK(window.check(100) == Verdict::below_window);
  window.accept(10'000);   // a jump past the whole window forgets everything below
  CHECK(window.check(10'000 - 1) == Verdict::fresh);
  CHECK(window.check(105 + 255) == Verdict::below_window);
}

TEST_CASE("atc window: any order of a shuffled run of counters accepts each exactly once") {
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    INFO("seed " << seed);
    std::mt19937 random(seed);
    std::vector<std::uint32_t> counters;
    for (std::uint32_t c = 1000; c < 1200; ++c) counters.push_back(c);
    std::shuffle(counters.begin(), counters.end(), random);
    AtcWindow window;
    std::set<std::uint32_t> accepted;
    for (std::uint32_t c : counters) {
      REQUIRE(window.check(c) == Verdict::fresh);
      window.accept(c);
      accepted.insert(c);
      // Every counter accepted so far is refused now.
      std::uint32_t probe = *std::next(accepted.begin(), static_cast<long>(random() % accepted.size()));
      REQUIRE(window.check(probe) == Verdict::replayed);
    }
    auto decoded = AtcWindow::decode(window.encode());
    REQUIRE(decoded.has_value());
    for (std::uint32_t c = 1000; c < 1200; ++c) REQUIRE(decoded->check(c) == Verdict::replayed);
  }
}

TEST_CASE("atc window: encoding, and the 4-byte record of before the window") {
  AtcWindow window;
  window.accept(7);
  window.accept(5);
  std::string encoded = window.encode();
  CHECK(encoded.size() == AtcWindow::encoded_bytes);
  auto decoded = AtcWindow::decode(encoded);
  REQUIRE(decoded.has_value());
  CHECK(decoded->highest() == 7);
  CHECK(decoded->check(5) == Verdict::replayed);
  CHECK(decoded->check(6) == Verdict::fresh);
  auto legacy = AtcWindow::decode(std::string("\x07\x00\x00\x00", 4));
  REQUIRE(legacy.has_value());
  CHECK(legacy->check(7) == Verdict::replayed);
  CHECK(legacy->check(6) == Verdict::fresh);
  CHECK_FALSE(AtcWindow::decode("abc").has_value());
}
