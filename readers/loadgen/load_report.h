// What one load step measured: throughput, decision latency percentiles and
// counts by mode and result. Workers fill one LoadTally each; merge() adds
// them up; report() computes the figures.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "citycard/tap.h"
#include "protocol/messages.h"

namespace citycard::loadgen {

struct LoadTally {
  std::uint64_t taps_sent = 0;        // taps in batches sent (first sends, not resends)
  std::uint64_t taps_decided = 0;     // decisions received
  std::uint64_t batches = 0;          // batches decided
  std::uint64_t retry_later = 0;      // batches answered retry_later (sent again later)
  std::uint64_t errors = 0;           // broken links, timeouts, error frames, mismatched replies
  std::uint64_t reconnects = 0;
  std::uint64_t readers_stopped = 0;  // readers given up on (link lost for good, or the same batch refused twice)
  std::uint64_t replayed = 0;         // decisions flagged replayed (resends after a broken link)
  std::uint64_t offline = 0;          // decided taps the reader had admitted offline
  std::array<std::array<std::uint64_t, 2>, mode_count + 1> by_mode{};  // [mode][0 approved, 1 refused]
  std::array<std::uint64_t, 32> by_reason{};                           // refusals by RefusalReason
  std::vector<std::uint32_t> latency_us;                               // one per decided tap
  // One per decided batch, its last send to its decisions: the part of a
  // tap's latency not spent waiting at the reader (for its due time's
  // batch to go, behind the reader's batch in flight).
  std::vector<std::uint32_t> round_trip_us;
  // The step second by second (by when decisions arrived, from the step's
  // start), to line the slowest taps up with what the engine did in that
  // second. send_lag: from a tap's due time until its batch was first sent
  // (the reader waiting for its batch in flight, or this process late).
  struct Second {
    std::uint32_t taps = 0;
    std::uint32_t taps_over_10ms = 0;
    std::uint32_t latency_max_us = 0;
    std::uint32_t round_trip_max_us = 0;
    std::uint32_t send_lag_max_us = 0;
  };
  std::vector<Second> seconds;

  // One decided tap: its mode and result, refusal reason, flags and latency
  // in microseconds (clamped to 0..UINT32_MAX); a decision for another tap
  // id is an error.
  void count(const Tap& tap, const protocol::DecisionRecord& decision, std::int64_t latency);
  void count_round_trip(std::int64_t microseconds);
  // One decided tap in second `second` of the step (count() counts it too).
  void count_second(std::size_t second, std::int64_t latency, std::int64_t round_trip, std::int64_t send_lag);
  void merge(const LoadTally& other);
};

struct LoadReport {
  double offered_taps_per_second = 0;   // 0: closed loop (as fast as decided)
  double seconds = 0;                   // first send to last decision
  double taps_per_second = 0;           // decided / seconds
  double latency_ms_p50 = 0, latency_ms_p99 = 0, latency_ms_p999 = 0, latency_ms_max = 0;
  double round_trip_ms_p50 = 0, round_trip_ms_p99 = 0;  // 0 when not measured (in process)
  // Wall clock (unix seconds) when the step began and ended, to line it up
  // with what else was sampled meanwhile (the engine's metrics); 0: not set.
  double started_unix_s = 0, ended_unix_s = 0;
  LoadTally tally;

  std::string json() const;             // one JSON object
  std::string summary() const;          // a few lines for people
};

LoadReport make_report(LoadTally tally, double seconds, double offered_taps_per_second);

}  // namespace citycard::loadgen
