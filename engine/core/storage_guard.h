// The engine's word on its ledger's storage: available, or unavailable from
// a failed write (a full disk, a failed sync) until the ledger takes writes
// again. docs/engine.md, "Storage failures", is the operator's view.
//
// failed() (the committer, on a write that did not land) makes it
// unavailable: logged once per outage with its cause (storage_unavailable),
// counted, shown by the metrics (citycard_storage_available 0) and by the
// admin op ping. Meanwhile the engine answers taps retry_later
// (storage_unavailable) and card-office writes `unavailable`; reads go on.
// The guard's thread brings the pipeline back: quiesce() (every shard
// answers what it holds retry_later and forgets its cards' speculative
// state; no batch is left in the committer), then Ledger::recover() until it
// succeeds, the wait between tries doubling from recovery_interval to
// recovery_interval_max, then available again (storage_recovered). A
// recovery that fails while reading the disk back (corruption) is fatal:
// logged ledger_read_failed, then abort, as a failed read always was. A
// ledger that can only recover by a reopen (a write failed inside RocksDB's
// log) ends the process: storage_restart_needed, exit storage_restart_exit_code.
//
// Thread-safe. stop() ends the thread (a quiesce or a wait under way is
// left); the engine calls it before it stops the shards.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "citycard/status.h"
#include "ledger/ledger.h"
#include "log.h"
#include "metrics.h"

namespace citycard::engine {

// EX_TEMPFAIL: restart me (systemd: Restart=on-failure).
inline constexpr int storage_restart_exit_code = 75;

struct StorageOptions {
  // First wait between two recovery attempts, doubled after each failure.
  // Default 1000 ms.
  std::chrono::milliseconds recovery_interval{1000};
  // The longest wait between two attempts. Default 30000 ms: a disk freed by
  // hand is noticed within half a minute.
  std::chrono::milliseconds recovery_interval_max{30000};
};

struct StorageState {
  bool available = true;
  std::string error;  // the failure that began the outage; empty while available
  std::chrono::system_clock::time_point since{};  // when it began
  std::uint64_t outages = 0;      // since start
  std::uint64_t attempts = 0;     // recovery attempts in this outage
};

class StorageGuard {
 public:
  // Returns once no shard holds work it could hand over and none is in the
  // committer, or false when `stopping` became true first.
  using Quiesce = std::function<bool(const std::atomic<bool>& stopping)>;

  StorageGuard(ledger::Ledger& ledger, StorageOptions options, Metrics& metrics, Log& log);
  ~StorageGuard();
  StorageGuard(const StorageGuard&) = delete;
  StorageGuard& operator=(const StorageGuard&) = delete;

  void start(Quiesce quiesce);
  void stop();

  // A ledger write failed at `stage` ("prepare", "commit"): unavailable from
  // now until a recovery succeeds. Any thread; logged once per outage.
  void failed(std::string_view stage, const Status& error, std::size_t groups);
  bool available() const noexcept { return available_.load(std::memory_order_acquire); }
  StorageState state() const;
  // The retry hint readers get while unavailable, ms.
  std::uint32_t retry_after_ms() const noexcept;

 private:
  void run();
  // Waits `interval` unless stopped first; false when stopped.
  bool pause(std::chrono::milliseconds interval);

  ledger::Ledger& ledger_;
  const StorageOptions options_;
  Metrics& metrics_;
  Log& log_;
  Quiesce quiesce_;
  std::atomic<bool> available_{true};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  StorageState state_;
  std::thread thread_;
};

}  // namespace citycard::engine
