// Drives a net::TapSink directly (no network) with a CityDay: every reader
// keeps one batch in flight, like a validator; one thread submits (as the
// tap server's loop would) and the sink's done callbacks hand batches back.
// Closed loop: the next batch of a reader goes as soon as its last is
// decided. Bounded by duration and the day's taps.
#pragma once

#include <chrono>

#include "engine/net/tap_sink.h"
#include "loadgen/city_day.h"
#include "loadgen/load_report.h"

namespace citycard::bench {

struct InProcessOptions {
  std::size_t batch_taps_max = 64;                // per reader per batch; default 64
  std::chrono::milliseconds duration{20'000};     // at most; default 20 s
  std::chrono::milliseconds reply_timeout{10'000};// a batch not decided by then is an error; default 10 s
};

loadgen::LoadReport drive_in_process(net::TapSink& sink, const loadgen::CityDay& day, const InProcessOptions& options);

}  // namespace citycard::bench
