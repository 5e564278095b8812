// Crash safety: a child posts batches and is killed with SIGKILL at random
// moments. After every kill the ledger reopens, and every batch the child
// reported done is there exactly once, nothing is half-applied, and verify
// passes. The next child resends from the first unreported batch, as a
// reader would, so a batch that was durable but unreported must deduplicate.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <cstdlib>
#include <random>
#include <thread>

#include "crash_workload.h"
#include "ledger_fixture.h"

using namespace citycard;
using namespace citycard::testing;

namespace {

struct ChildRun {
  std::int64_t last_reported = -1;  // highest batch the child said was done
  std::uint64_t reported = 0;       // batches it reported before the kill
  std::string errors;
};

// When the parent kills: `delay` after the child starts (anywhere, open and
// recovery included), or, `after_batches` > 0, once the child has reported
// that many batches, plus `delay`. The second is timed by the child's
// progress, not the clock: on a busy machine opening the ledger alone can
// outlast any fixed delay, and then no kill would land while posting.
struct KillAt {
  std::chrono::microseconds delay{0};
  std::uint64_t after_batches = 0;
};

// Waiting for the child's reports gives up after this; only a broken or
// stuck child gets near it.
constexpr int report_deadline_ms = 60'000;

// Whole lines of `text` (a line cut by the kill was never fully reported).
void count_reports(const std::string& text, ChildRun& run) {
  std::size_t start = 0;
  run.reported = 0;
  while (true) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) break;
    run.last_reported = std::stoll(text.substr(start, end - start));
    ++run.reported;
    start = end + 1;
  }
}

// Runs the child from `first_batch`, kills it at `kill`, returns what it reported.
ChildRun run_and_kill(const std::string& path, std::uint64_t first_batch, KillAt kill) {
  int out[2];
  int err[2];
  REQUIRE(::pipe(out) == 0);
  REQUIRE(::pipe(err) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    ::close(out[0]);
    ::close(err[0]);
    std::string first = std::to_string(first_batch);
    ::execl(CRASH_CHILD_PATH, CRASH_CHILD_PATH, path.c_str(), first.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);

  ChildRun run;
  std::string reported;
  char buffer[4096];
  ssize_t n;
  if (kill.after_batches > 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(report_deadline_ms);
    while (run.reported < kill.after_batches) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd readable{out[0], POLLIN, 0};
      if (left.count() <= 0 || ::poll(&readable, 1, static_cast<int>(left.count())) <= 0) break;
      if ((n = ::read(out[0], buffer, sizeof buffer)) <= 0) break;  // the child ended: its stderr says why
      reported.append(buffer, static_cast<std::size_t>(n));
      count_reports(reported, run);
    }
  }
  std::this_thread::sleep_for(kill.delay);
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);

  while ((n = ::read(out[0], buffer, sizeof buffer)) > 0) reported.append(buffer, static_cast<std::size_t>(n));
  ::close(out[0]);
  while ((n = ::read(err[0], buffer, sizeof buffer)) > 0) run.errors.append(buffer, static_cast<std::size_t>(n));
  ::close(err[0]);
  count_reports(reported, run);
  return run;
}

int env_or(const char* name, int fallback) {
  const char* value = std::getenv(name);
  return value ? std::atoi(value) : fallback;
}

}  // namespace

TEST_CASE("SIGKILL at random moments loses no reported batch and applies none twice or by half") {
  const unsigned seed = static_cast<unsigned>(env_or("CITYCARD_CRASH_SEED", static_cast<int>(std::random_device{}() & 0x7FFFFFFF)));
  const int iterations = env_or("CITYCARD_CRASH_ITERATIONS", 30);
  INFO("seed " << seed << " (rerun with CITYCARD_CRASH_SEED=" << seed << ")");
  std::mt19937 random(seed);

  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  std::int64_t last_reported = -1;
  std::uint64_t kills_after_progress = 0;
  {
    // Cards and top-ups first, so every child spends its life posting.
    ledger::Options options;
    options.create_if_missing = true;
    auto created = ledger::Ledger::open(path, options);
    REQUIRE(created);
    REQUIRE(crash_workload_setup(**created));
  }

  for (int iteration = 0; iteration < iterations; ++iteration) {
    // Every other kill lands at any moment, open and recovery included; the
    // rest after 1 to 4 reported batches, somewhere in the next ones.
    KillAt kill;
    if (iteration % 2 == 0) {
      kill.delay = std::chrono::microseconds(30'000 + random() % 200'000);
    } else {
      kill.after_batches = 1 + random() % 4;
      kill.delay = std::chrono::microseconds(random() % 20'000);
    }
    const std::int64_t reported_before = last_reported;
    ChildRun run = run_and_kill(path, static_cast<std::uint64_t>(last_reported + 1), kill);
    INFO("iteration " << iteration << ", child stderr: " << run.errors);
    REQUIRE(run.errors.empty());
    INFO("kill after " << kill.after_batches << " batches, " << run.reported << " reported");
    REQUIRE(run.reported >= kill.after_batches);
    if (run.reported > 0) {
      REQUIRE(run.last_reported == reported_before + static_cast<std::int64_t>(run.reported));
      last_reported = run.last_reported;
      ++kills_after_progress;
    }

    auto opened = ledger::Ledger::open(path, ledger::Options{});
    INFO("open: " << opened.status().to_string());
    REQUIRE(opened);
    auto& ledger = **opened;

    // Every newly reported batch (all of them on the last round): each group
    // present with both legs. The sequence count below proves none is twice.
    const bool last_round = iteration + 1 == iterations;
    for (std::int64_t batch = last_round ? 0 : std::max<std::int64_t>(0, reported_before); batch <= last_reported; ++batch) {
      for (std::size_t g = 0; g < crash_groups_per_batch; ++g) {
        auto key = IdempotencyKey::for_tap(TapId{ReaderId{crash_reader}, batch * crash_groups_per_batch + g});
        auto legs = ledger.transfers_for(key);
        INFO("batch " << batch << " group " << g);
        REQUIRE(legs);
        REQUIRE(legs->size() == 2);
      }
    }
    // The batch in flight at the kill: all of it or none of it.
    std::size_t in_flight = 0;
    for (std::size_t g = 0; g < crash_groups_per_batch; ++g) {
      auto key = IdempotencyKey::for_tap(TapId{ReaderId{crash_reader}, (last_reported + 1) * crash_groups_per_batch + g});
      if (ledger.transfers_for(key)) ++in_flight;
    }
    CHECK((in_flight == 0 || in_flight == crash_groups_per_batch));
    // Nothing beyond it.
    CHECK_FALSE(ledger.transfers_for(
        IdempotencyKey::for_tap(TapId{ReaderId{crash_reader}, (last_reported + 2) * crash_groups_per_batch})));

    auto report = ledger.verify();
    for (const auto& problem : report.problems) UNSCOPED_INFO(problem.kind << ": " << problem.detail);
    REQUIRE(report.ok());
    // Setup postings + 2 transfers per group of every batch present.
    const std::uint64_t setup_transfers = crash_cards;
    const std::uint64_t batches_present = static_cast<std::uint64_t>(last_reported + 1) + (in_flight ? 1 : 0);
    if (ledger.last_sequence() > 0) {
      CHECK(ledger.last_sequence() == setup_transfers + batches_present * crash_groups_per_batch * 2);
    }
  }
  std::printf("crash test: %d kills, %llu after progress, %lld batches reported\n", iterations,
              static_cast<unsigned long long>(kills_after_progress), static_cast<long long>(last_reported + 1));
  INFO("kills after progress: " << kills_after_progress << ", batches reported: " << last_reported + 1);
  CHECK(kills_after_progress >= static_cast<std::uint64_t>(iterations / 2));
}

TEST_CASE("a ledger whose creation was interrupted is created afresh") {
  TempDir dir;
  const std::string path = dir.path() + "/ledger";
  // What a kill during creation leaves: a half-made staging directory.
  std::filesystem::create_directories(path + ".creating");
  { std::ofstream(path + ".creating/CURRENT") << "MANIFEST-000001\n"; }
  CHECK(ledger::Ledger::open(path, ledger::Options{}).status().code() == StatusCode::not_found);
  ledger::Options options;
  options.create_if_missing = true;
  auto created = ledger::Ledger::open(path, options);
  REQUIRE(created);
  CHECK((*created)->verify().ok());
  CHECK_FALSE(std::filesystem::exists(path + ".creating"));
}
