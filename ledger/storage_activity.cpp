#include <algorithm>
#include <charconv>
#include <map>
#include <string>

#include "rocks_ledger.h"

namespace citycard::ledger {

namespace {

std::uint64_t number(const std::map<std::string, std::string>& values, const std::string& key) {
  std::uint64_t value = 0;
  if (auto found = values.find(key); found != values.end()) {
    std::from_chars(found->second.data(), found->second.data() + found->second.size(), value);
  }
  return value;
}

FamilyUsage family_usage(rocksdb::DB& db, rocksdb::ColumnFamilyHandle* family) {
  FamilyUsage usage;
  usage.name = family->GetName();
  std::map<std::string, std::string> table;
  if (db.GetMapProperty(family, rocksdb::DB::Properties::kAggregatedTableProperties, &table)) {
    usage.entries = number(table, "num_entries");
    usage.raw_bytes = number(table, "raw_key_size") + number(table, "raw_value_size");
  }
  std::uint64_t bytes = 0;
  if (db.GetIntProperty(family, rocksdb::DB::Properties::kTotalSstFilesSize, &bytes)) usage.table_bytes = bytes;
  return usage;
}

}  // namespace

StorageActivity RocksLedger::storage_activity() const {
  StorageActivity activity;
  activity.synced_writes = synced_writes_.load(std::memory_order_relaxed);
  activity.log_bytes_written = log_bytes_written_.load(std::memory_order_relaxed);
  activity.write_micros = write_micros_.load(std::memory_order_relaxed);
  activity.log_sync_micros = log_sync_micros_.load(std::memory_order_relaxed);
  activity.slow_writes_in_sync = slow_writes_in_sync_.load(std::memory_order_relaxed);
  activity.slow_writes_elsewhere = slow_writes_elsewhere_.load(std::memory_order_relaxed);
  if (storage_listener_) storage_listener_->add_counts_to(activity);
  // Properties RocksDB cannot read (none of these should fail) stay 0.
  auto sum = [this](const std::string& property) {
    std::uint64_t value = 0;
    return db_->GetAggregatedIntProperty(property, &value) ? value : std::uint64_t{0};
  };
  activity.table_bytes = sum(rocksdb::DB::Properties::kTotalSstFilesSize);
  activity.memtable_bytes = sum(rocksdb::DB::Properties::kCurSizeAllMemTables);
  activity.pending_compaction_bytes = sum(rocksdb::DB::Properties::kEstimatePendingCompactionBytes);
  std::uint64_t value = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &value)) activity.flushes_running = value;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &value)) activity.compactions_running = value;
  const std::string level0 = rocksdb::DB::Properties::kNumFilesAtLevelPrefix + std::string("0");
  for (auto* family : families_) {
    std::string text;
    std::uint64_t files = 0;
    if (db_->GetProperty(family, level0, &text)) std::from_chars(text.data(), text.data() + text.size(), files);
    activity.level0_files_max = std::max(activity.level0_files_max, files);
    activity.families.push_back(family_usage(*db_, family));
  }
  return activity;
}

FlushBacklog RocksLedger::flush_backlog() const {
  FlushBacklog backlog;
  if (storage_listener_) storage_listener_->add_backlog_to(backlog);
  // A flush that failed never reports its end: none running is none running.
  std::uint64_t running = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &running) && running == 0) {
    backlog.oldest_flush = std::chrono::milliseconds{0};
  }
  for (auto* family : families_) {
    std::uint64_t waiting = 0;
    if (db_->GetIntProperty(family, rocksdb::DB::Properties::kNumImmutableMemTable, &waiting)) {
      backlog.immutable_memtables_max = std::max(backlog.immutable_memtables_max, waiting);
    }
  }
  return backlog;
}

}  // namespace citycard::ledger
