#include "realtime_yield.h"

#include <algorithm>

#include "citycard/thread_name.h"

namespace citycard::engine {

namespace {

using Clock = std::chrono::steady_clock;

std::string seconds_text(Clock::duration duration) {
  const auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(duration).count() / 100;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
}

}  // namespace

std::string flush_behind(const ledger::FlushBacklog& backlog, const YieldThresholds& thresholds) {
  if (backlog.writes_stalled) return "writes stalled";
  if (backlog.immutable_memtables_max >= thresholds.immutable_memtables) {
    return std::to_string(backlog.immutable_memtables_max) + " full memtables of one family waiting for a flush";
  }
  if (backlog.oldest_flush >= thresholds.flush_running) {
    return "a flush running for " + seconds_text(backlog.oldest_flush) + " s";
  }
  return {};
}

RealtimeYield::RealtimeYield(RealtimeThreads& threads, ReadBacklog read_backlog, YieldThresholds thresholds,
                             Metrics& metrics, Log& log)
    : threads_(threads), read_backlog_(std::move(read_backlog)), thresholds_(thresholds), metrics_(metrics), log_(log) {
  thread_ = std::thread([this] { run(); });
}

RealtimeYield::~RealtimeYield() { stop(); }

void RealtimeYield::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stopping_changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RealtimeYield::run() {
  name_this_thread("cc-rt-watch");
  const int watch_priority = std::min(threads_.priority() + 1, realtime_priority_max);
  if (Status realtime = run_this_thread_realtime(watch_priority); !realtime) {
    log_.event("realtime_refused", {{"thread", "cc-rt-watch"}, {"error", realtime.to_string()}});
  }
  Clock::time_point yielded_at{};
  Clock::time_point calm_since{};
  std::unique_lock lock(mutex_);
  while (!stopping_changed_.wait_for(lock, thresholds_.poll, [this] { return stopping_; })) {
    lock.unlock();
    const std::string behind = flush_behind(read_backlog_(), thresholds_);
    const auto now = Clock::now();
    if (!threads_.yielded()) {
      if (!behind.empty()) {
        Status set = threads_.set_yielded(true);
        metrics_.set_realtime_yielded(true);
        yielded_at = now;
        calm_since = Clock::time_point{};
        log_.event("realtime_yielded", {{"cause", behind}, {"threads", std::to_string(threads_.members())}});
        if (!set) log_.event("realtime_set_failed", {{"error", set.to_string()}});
      }
    } else if (!behind.empty()) {
      calm_since = Clock::time_point{};
    } else if (calm_since == Clock::time_point{}) {
      calm_since = now;
    } else if (now - calm_since >= thresholds_.calm) {
      Status set = threads_.set_yielded(false);
      metrics_.set_realtime_yielded(false);
      log_.event("realtime_resumed", {{"seconds_yielded", seconds_text(now - yielded_at)}});
      if (!set) log_.event("realtime_set_failed", {{"error", set.to_string()}});
    }
    lock.lock();
  }
}

}  // namespace citycard::engine
