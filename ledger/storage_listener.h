// Counts RocksDB's flushes, compactions and write stalls as they end, for
// StorageActivity. Called on RocksDB's background threads. Internal to ledger/.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include <rocksdb/listener.h>

#include "ledger/storage_activity.h"

namespace citycard::ledger {

class StorageListener final : public rocksdb::EventListener {
 public:
  const char* Name() const override { return "citycard.StorageListener"; }
  void OnFlushBegin(rocksdb::DB* db, const rocksdb::FlushJobInfo& info) override;
  void OnFlushCompleted(rocksdb::DB* db, const rocksdb::FlushJobInfo& info) override;
  void OnCompactionCompleted(rocksdb::DB* db, const rocksdb::CompactionJobInfo& info) override;
  void OnStallConditionsChanged(const rocksdb::WriteStallInfo& info) override;

  // The counted fields of StorageActivity (the rest stay as they are).
  void add_counts_to(StorageActivity& activity) const;
  // The flushes running and the stalls, now (FlushBacklog's fields but the memtables).
  void add_backlog_to(FlushBacklog& backlog) const;

 private:
  using Clock = std::chrono::steady_clock;
  std::atomic<std::uint64_t> flushes_{0}, flush_bytes_{0}, flush_micros_{0};
  std::atomic<std::uint64_t> compactions_{0}, compaction_read_{0}, compaction_written_{0}, compaction_micros_{0};
  std::atomic<std::uint64_t> slowdowns_{0}, stops_{0}, stall_micros_{0};
  mutable std::mutex mutex_;
  std::unordered_map<int, Clock::time_point> flush_started_;   // by job id
  std::unordered_map<std::string, Clock::time_point> stalled_; // by family, while not normal
};

}  // namespace citycard::ledger
