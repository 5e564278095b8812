#include "storage_guard.h"

#include <algorithm>
#include <cstdlib>

namespace citycard::engine {

namespace {

using SteadyClock = std::chrono::steady_clock;

// A recovery that keeps failing is logged at its first try and then at most
// this often: the outage was logged with its cause when it began.
constexpr std::chrono::seconds still_failing_log_interval{60};

std::string seconds_since(std::chrono::system_clock::time_point since) {
  const auto seconds = std::chrono::duration<double>(std::chrono::system_clock::now() - since).count();
  return std::to_string(static_cast<long long>(seconds));
}

}  // namespace

StorageGuard::StorageGuard(ledger::Ledger& ledger, StorageOptions options, Metrics& metrics, Log& log)
    : ledger_(ledger), options_(options), metrics_(metrics), log_(log) {
  metrics_.set_storage_available(true);
}

StorageGuard::~StorageGuard() { stop(); }

void StorageGuard::start(Quiesce quiesce) {
  quiesce_ = std::move(quiesce);
  thread_ = std::thread([this] { run(); });
}

void StorageGuard::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_.store(true, std::memory_order_release);
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StorageGuard::failed(std::string_view stage, const Status& error, std::size_t groups) {
  {
    std::lock_guard lock(mutex_);
    if (!state_.available) return;  // the same outage: logged when it began
    state_.available = false;
    state_.error = error.to_string();
    state_.since = std::chrono::system_clock::now();
    state_.attempts = 0;
    ++state_.outages;
    // Before the shards hear of the voided batch: once they do, none may
    // hand over work that builds on it.
    available_.store(false, std::memory_order_release);
  }
  metrics_.set_storage_available(false);
  metrics_.count_storage_outage();
  log_.event("storage_unavailable", {{"stage", std::string(stage)},
                                     {"error", error.to_string()},
                                     {"groups", std::to_string(groups)},
                                     {"out_of_space", is_out_of_space(error) ? "yes" : "no"},
                                     {"taps", "answered retry_later storage_unavailable until recovered"}});
  changed_.notify_all();
}

StorageState StorageGuard::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::uint32_t StorageGuard::retry_after_ms() const noexcept {
  return static_cast<std::uint32_t>(std::min<std::int64_t>(options_.recovery_interval.count(), 60'000));
}

bool StorageGuard::pause(std::chrono::milliseconds interval) {
  std::unique_lock lock(mutex_);
  return !changed_.wait_for(lock, interval, [this] { return stopping_.load(std::memory_order_acquire); });
}

void StorageGuard::run() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stopping_.load() || !state_.available; });
      if (stopping_.load()) return;
    }
    if (!quiesce_(stopping_)) return;
    auto interval = options_.recovery_interval;
    auto last_logged = SteadyClock::time_point{};
    for (std::uint64_t attempt = 1;; ++attempt) {
      {
        std::lock_guard lock(mutex_);
        state_.attempts = attempt;
      }
      Status recovered = ledger_.recover();
      if (recovered) break;
      if (recovered.code() == StatusCode::unavailable) {
        // The ledger needs a reopen (ledger.h, recover()). Ended at once, as
        // SIGKILL would: every answered tap is durable, and a destructor could
        // touch RocksDB's broken log writer. The supervisor starts it again,
        // and a start on a full disk waits for space: one restart, no loop.
        log_.event("storage_restart_needed", {{"error", recovered.to_string()},
                                              {"exit_code", std::to_string(storage_restart_exit_code)}});
        std::_Exit(storage_restart_exit_code);
      }
      if (recovered.code() == StatusCode::corruption) {
        // The disk took the write but could not be read back: no retry
        // makes that right, and serving from a half-read view would lie.
        log_.event("ledger_read_failed", {{"stage", "recover"}, {"error", recovered.to_string()}});
        std::abort();
      }
      const auto now = SteadyClock::now();
      if (attempt == 1 || now - last_logged >= still_failing_log_interval) {
        last_logged = now;
        const StorageState outage = state();
        log_.event("storage_still_unavailable", {{"attempts", std::to_string(attempt)},
                                                 {"unavailable_s", seconds_since(outage.since)},
                                                 {"error", recovered.to_string()},
                                                 {"out_of_space", is_out_of_space(recovered) ? "yes" : "no"},
                                                 {"retry_in_ms", std::to_string(interval.count())}});
      }
      if (!pause(interval)) return;
      interval = std::min(interval * 2, options_.recovery_interval_max);
    }
    StorageState outage;
    {
      std::lock_guard lock(mutex_);
      outage = state_;
      state_.available = true;
      state_.error.clear();
      available_.store(true, std::memory_order_release);
    }
    metrics_.set_storage_available(true);
    log_.event("storage_recovered", {{"unavailable_s", seconds_since(outage.since)},
                                     {"attempts", std::to_string(outage.attempts)},
                                     {"error_was", outage.error}});
  }
}

}  // namespace citycard::engine
