// CheckpointPass: which account records a checkpoint pass still has to write.
#include <catch2/catch.hpp>

#include <vector>

#include "ledger/checkpoint_pass.h"

using citycard::ledger::CheckpointPass;

namespace {

std::vector<std::uint64_t> take(CheckpointPass& pass, std::size_t max) {
  std::vector<std::uint64_t> taken;
  const std::size_t count = pass.take(max, [&](std::uint64_t index) { taken.push_back(index); });
  CHECK(count == taken.size());
  return taken;
}

}  // namespace

TEST_CASE("a checkpoint pass writes each changed account once, in key order, in chunks") {
  CheckpointPass pass;
  for (std::uint64_t index : {900u, 3u, 64u, 63u, 3u, 1'300'000u, 65u, 900u}) pass.mark_changed(index);
  CHECK(pass.changed_count() == 6);  // 3 and 900 twice
  CHECK_FALSE(pass.in_progress());
  pass.start();
  CHECK(pass.in_progress());
  CHECK(pass.remaining() == 6);
  CHECK(pass.changed_count() == 0);
  CHECK(take(pass, 4) == std::vector<std::uint64_t>{3, 63, 64, 65});
  CHECK(pass.remaining() == 2);
  CHECK(take(pass, 4) == std::vector<std::uint64_t>{900, 1'300'000});
  CHECK_FALSE(pass.in_progress());
  CHECK(take(pass, 4).empty());
}

TEST_CASE("accounts changed during a pass wait for the next one, also those the pass still holds") {
  CheckpointPass pass;
  pass.mark_changed(10);
  pass.mark_changed(20);
  pass.start();
  CHECK(take(pass, 1) == std::vector<std::uint64_t>{10});
  pass.mark_changed(10);  // already written in this pass: written again in the next
  pass.mark_changed(20);  // still to write in this pass, and changed again after it began
  pass.mark_changed(5);
  CHECK(pass.changed_count() == 3);
  CHECK(take(pass, 10) == std::vector<std::uint64_t>{20});
  CHECK_FALSE(pass.in_progress());
  pass.start();
  CHECK(take(pass, 10) == std::vector<std::uint64_t>{5, 10, 20});
}

TEST_CASE("a pass with nothing changed is over as it starts, and clear forgets everything") {
  CheckpointPass pass;
  pass.start();
  CHECK_FALSE(pass.in_progress());
  pass.mark_changed(7);
  pass.start();
  pass.mark_changed(8);
  pass.clear();
  CHECK_FALSE(pass.in_progress());
  CHECK(pass.changed_count() == 0);
  pass.start();
  CHECK(take(pass, 10).empty());
}
