// Drives a net::TapSink directly (no network) with a CityDay, closed loop:
// one thread (as the tap server's loop would) walks the day's send order in
// windows, groups each window's taps by reader into batches and submits them
// in order, so a card's taps reach the engine in the order the city sent
// them (a top-up before the ride it pays for). At most inflight_taps_max
// taps are undecided at any time; busy batches are resent. Bounded by
// duration and the day's taps.
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
};

loadgen::LoadReport drive_in_process(net::TapSink& sink, const loadgen::CityDay& day, const InProcessOptions& options);

}  // namespace citycard::bench
