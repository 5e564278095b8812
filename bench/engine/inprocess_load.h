// Drives a net::TapSink directly (no network) with a CityDay: one thread (as
// the tap server's loop would) walks the day's send order in windows, groups
// each window's taps by reader into batches and submits them in order, so a
// card's taps reach the engine in the order the city sent them (a top-up
// before the ride it pays for). Closed loop: at most inflight_taps_max taps
// are undecided at any time. Open loop (taps_per_second > 0): tap k of the
// send order is due at start + k / rate and submitted then, with the others
// due in the same tick; its latency counts from its due time, so queueing is
// not hidden. Busy batches are resent. Bounded by duration and the day.
#pragma once

#include <chrono>

#include "engine/net/tap_sink.h"
#include "loadgen/city_day.h"
#include "loadgen/load_report.h"

namespace citycard::bench {

struct InProcessOptions {
  std::size_t batch_taps_max = 64;                // per reader per batch; default 64
  std::size_t window_taps = 4096;                 // taps of the send order grouped at once; default 4096
  std::size_t inflight_taps_max = 32'768;         // undecided taps at most; default 32768
  std::chrono::milliseconds duration{20'000};     // at most; default 20 s
  std::chrono::milliseconds reply_timeout{10'000};// a batch not decided by then is an error; default 10 s
  double taps_per_second = 0;                     // 0: closed loop; otherwise the open loop's rate
};

// Plays the day from send-order position `position` on, and leaves it where
// the run stopped, so the next run continues the day (no replays).
loadgen::LoadReport drive_in_process(net::TapSink& sink, const loadgen::CityDay& day, const InProcessOptions& options,
                                     std::size_t& position);

}  // namespace citycard::bench
