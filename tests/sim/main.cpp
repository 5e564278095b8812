// citycard-sim: runs the deterministic simulator (simulation.h) for a range
// of seeds and says, per seed, whether every invariant held; a failure
// prints "seed=S step=N" and the invariant, and `--seed S` replays it.
//
//   citycard-sim [--seed S] [--seeds N] [--steps N] [--work-dir DIR] [--keep] [--trace]
//
// Exit status 0 when every seed held, 1 when one did not, 2 on bad arguments.
// The last line sums up: seeds, steps, faults of each kind, invariant checks.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "simulation.h"

namespace {

int usage() {
  std::fprintf(stderr, "usage: citycard-sim [--seed S] [--seeds N] [--steps N] [--work-dir DIR] [--keep] [--trace] [--rules FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  citycard::sim::SimOptions options;
  options.rules_file = std::string(CITYCARD_SOURCE_DIR) + "/rules/city.toml";
  std::uint64_t seeds = 1;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--keep") options.keep_files = true;
    else if (arg == "--trace") options.steps_out = stdout;
    else if (arg == "--seed" || arg == "--seeds" || arg == "--steps" || arg == "--work-dir" || arg == "--rules") {
      const char* text = value();
      if (text == nullptr) return usage();
      if (arg == "--seed") options.seed = std::strtoull(text, nullptr, 10);
      else if (arg == "--seeds") seeds = std::strtoull(text, nullptr, 10);
      else if (arg == "--steps") options.steps = std::strtoull(text, nullptr, 10);
      else if (arg == "--rules") options.rules_file = text;
      else options.work_dir = text;
    } else {
      return usage();
    }
  }
  const auto started = std::chrono::steady_clock::now();
  citycard::sim::SimReport total;
  std::uint64_t failed = 0;
  std::uint64_t crashes = 0, fail_stops = 0, power = 0, torn = 0, sync_failed = 0, full = 0, slow = 0, restarts = 0;
  std::uint64_t jumps = 0, damaged = 0, lost = 0, resends = 0, steps = 0, checks = 0, decided = 0, closed = 0;
  const std::uint64_t first = options.seed;
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    options.seed = seed;
    citycard::sim::SimReport report = citycard::sim::simulate(options);
    std::printf("%s\n", citycard::sim::describe(report).c_str());
    std::fflush(stdout);
    if (!report.held) ++failed;
    steps += report.steps;
    checks += report.invariant_checks;
    decided += report.taps_decided;
    closed += report.days_closed;
    crashes += report.faults.crashes;
    fail_stops += report.faults.fail_stops;
    power += report.faults.power_losses;
    restarts += report.faults.clean_restarts;
    torn += report.faults.disk.torn_writes;
    sync_failed += report.faults.disk.syncs_failed;
    full += report.faults.disk.disk_full;
    slow += report.faults.disk.syncs_slow;
    jumps += report.traffic.clock_jumps;
    damaged += report.traffic.journals_damaged;
    lost += report.traffic.answers_lost;
    resends += report.traffic.resends;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "summary seeds=%llu failed=%llu steps=%llu taps_decided=%llu days_closed=%llu invariant_checks=%llu "
      "crashes=%llu fail_stops=%llu power_losses=%llu torn_writes=%llu syncs_failed=%llu disk_full=%llu slow_syncs=%llu "
      "clean_restarts=%llu clock_jumps=%llu journals_damaged=%llu answers_lost=%llu resends=%llu seconds=%.1f\n",
      static_cast<unsigned long long>(seeds), static_cast<unsigned long long>(failed), static_cast<unsigned long long>(steps),
      static_cast<unsigned long long>(decided), static_cast<unsigned long long>(closed), static_cast<unsigned long long>(checks),
      static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(fail_stops), static_cast<unsigned long long>(power),
      static_cast<unsigned long long>(torn), static_cast<unsigned long long>(sync_failed), static_cast<unsigned long long>(full),
      static_cast<unsigned long long>(slow), static_cast<unsigned long long>(restarts), static_cast<unsigned long long>(jumps),
      static_cast<unsigned long long>(damaged), static_cast<unsigned long long>(lost), static_cast<unsigned long long>(resends), seconds);
  return failed == 0 ? 0 : 1;
}
