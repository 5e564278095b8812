// The simulator in ctest: ranges of seeds, each a test of its own so that
// `ctest -j2` runs two at a time, and one seed run twice to the same trace.
#include <catch2/catch.hpp>

#include "simulation.h"

namespace citycard::sim {
namespace {

SimOptions options_for(std::uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  options.steps = 300;
  options.rules_file = std::string(CITYCARD_SOURCE_DIR) + "/rules/city.toml";
  return options;
}

void run_seeds(std::uint64_t first, std::uint64_t count) {
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    SimReport report = simulate(options_for(seed));
    INFO(describe(report));
    REQUIRE(report.held);
  }
}

}  // namespace

TEST_CASE("the same seed replays to the same trace") {
  SimReport first = simulate(options_for(7));
  SimReport second = simulate(options_for(7));
  INFO(describe(first));
  INFO(describe(second));
  REQUIRE(first.held);
  CHECK(first.trace_hash == second.trace_hash);
  CHECK(first.steps == second.steps);
  CHECK(first.invariant_checks == second.invariant_checks);
}

TEST_CASE("seeds 1 to 50 hold every invariant") { run_seeds(1, 50); }
TEST_CASE("seeds 51 to 100 hold every invariant") { run_seeds(51, 50); }
TEST_CASE("seeds 101 to 150 hold every invariant") { run_seeds(101, 50); }
TEST_CASE("seeds 151 to 200 hold every invariant") { run_seeds(151, 50); }

}  // namespace citycard::sim
