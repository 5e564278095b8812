// Upload of the offline queue: in order, in batches, with backoff while the
// link is down, pruning what the engine acknowledged.
#include <catch2/catch.hpp>

#include "scripted_link.h"
#include "temp_dir.h"
#include "uploader.h"

using namespace citycard;
using namespace citycard::agent;
using namespace std::chrono_literals;
using citycard::test::sample_tap;
using citycard::test::ScriptedEngineLink;
using citycard::test::TempDir;

TEST_CASE("uploader: uploads in order, in batches, and prunes what was acknowledged", "[agent][upload]") {
  TempDir dir;
  auto journal = Journal::open(dir.file("taps.journal"));
  REQUIRE(journal.has_value());
  for (std::uint64_t s = 1; s <= 7; ++s) REQUIRE(journal->append(sample_tap(s)).is_ok());
  ScriptedEngineLink link;
  Uploader uploader(*journal, link, UploadOptions{3, 1s, 100ms, 1600ms, 17});
  auto now = Clock::now();
  for (int i = 0; i < 3; ++i) {
    UploadReport report = uploader.step(now);
    CHECK(report.attempted);
    CHECK(report.error.is_ok());
  }
  CHECK(link.batches == std::vector<std::vector<std::uint64_t>>{{1, 2, 3}, {4, 5, 6}, {7}});
  CHECK(journal->pending().empty());
  CHECK(!uploader.step(now).attempted);   // nothing left
}

TEST_CASE("uploader: backs off exponentially while the link is down, then recovers", "[agent][upload]") {
  TempDir dir;
  auto journal = Journal::open(dir.file("taps.journal"));
  REQUIRE(journal->append(sample_tap(1)).is_ok());
  ScriptedEngineLink link;
  link.failures_left = 6;
  Uploader uploader(*journal, link, UploadOptions{512, 1s, 100ms, 1600ms, 17});
  auto now = Clock::now();
  std::vector<std::int64_t> waits_ms;
  for (int attempt = 0; attempt < 6; ++attempt) {
    UploadReport report = uploader.step(now);
    REQUIRE(report.attempted);
    CHECK(report.error.code() == StatusCode::unavailable);
    CHECK(!uploader.step(now).attempted);   // not before the backoff ends
    waits_ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(uploader.next_attempt() - now).count());
    now = uploader.next_attempt();
  }
  // Each wait lies in [delay/2, delay] for delay = 100, 200, ..., capped at 1600.
  std::vector<std::int64_t> delays{100, 200, 400, 800, 1600, 1600};
  for (std::size_t i = 0; i < delays.size(); ++i) {
    INFO("attempt " << i);
    CHECK(waits_ms[i] >= delays[i] / 2);
    CHECK(waits_ms[i] <= delays[i]);
  }
  CHECK(uploader.consecutive_failures() == 6);
  REQUIRE(journal->pending().size() == 1);
  UploadReport report = uploader.step(now);
  CHECK(report.error.is_ok());
  CHECK(report.taps_acknowledged == 1);
  CHECK(journal->pending().empty());
  CHECK(uploader.consecutive_failures() == 0);
}

TEST_CASE("uploader: a permanent error backs off to the maximum and keeps the taps", "[agent][upload]") {
  TempDir dir;
  auto journal = Journal::open(dir.file("taps.journal"));
  REQUIRE(journal->append(sample_tap(1)).is_ok());
  ScriptedEngineLink link;
  link.failures_left = 1;
  link.failure = Status::invalid_argument("engine cannot parse tap 1");
  Uploader uploader(*journal, link, UploadOptions{512, 1s, 100ms, 1600ms, 17});
  auto now = Clock::now();
  CHECK(uploader.step(now).error.code() == StatusCode::invalid_argument);
  CHECK(uploader.next_attempt() - now >= 800ms);
  CHECK(journal->pending().size() == 1);
}
