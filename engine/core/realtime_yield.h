// Real-time taps must not starve the ledger's flushes. On a host short of
// CPU the SCHED_FIFO tap path once took ~1.74 of 2 cores: a flush ran 12-53 s
// instead of ~2, memtables grew to 890 MB and writes stalled for 21.6 s
// (bench/README.md, "Real-time scheduling"). While the flushes fall behind
// (flush_behind), the tap path runs at the ordinary priority beside them,
// and real-time again once they have kept up for `calm`. Logged
// (realtime_yielded with its cause, realtime_resumed) and counted
// (citycard_realtime_yielded, citycard_realtime_yields_total).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "citycard/realtime.h"
#include "ledger/storage_activity.h"
#include "log.h"
#include "metrics.h"

namespace citycard::engine {

struct YieldThresholds {
  // Full memtables of one family waiting: at 20k taps/s one waits while the
  // one before it flushes; a second means the flush is behind the writes.
  std::uint64_t immutable_memtables = 2;
  // A flush running this long is behind even before a second memtable
  // waits (a family fills 64 MiB in ~20 s at 20k taps/s). Beside real-time
  // taps a flush takes 5-7 s on the 2-core bench without falling behind: a
  // 5 s bound there yielded at every other flush, 14% of the time.
  std::chrono::milliseconds flush_running{20000};
  // How long the flushes keep up before the tap path is real-time again.
  std::chrono::milliseconds calm{3000};
  // How often the backlog is read.
  std::chrono::milliseconds poll{100};
};

// Why the flushes are behind, or "" while they keep up.
std::string flush_behind(const ledger::FlushBacklog& backlog, const YieldThresholds& thresholds);

class RealtimeYield {
 public:
  using ReadBacklog = std::function<ledger::FlushBacklog()>;
  // Starts the watching thread (itself real-time one above the tap path, so
  // the path it watches cannot keep it from running).
  RealtimeYield(RealtimeThreads& threads, ReadBacklog read_backlog, YieldThresholds thresholds, Metrics& metrics,
                Log& log);
  ~RealtimeYield();
  // Ends the thread; the tap path is left real-time (or as it is).
  void stop();

 private:
  void run();

  RealtimeThreads& threads_;
  ReadBacklog read_backlog_;
  const YieldThresholds thresholds_;
  Metrics& metrics_;
  Log& log_;
  std::mutex mutex_;
  std::condition_variable stopping_changed_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace citycard::engine
