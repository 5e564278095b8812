#include "storage_listener.h"

#include <algorithm>
#include <filesystem>

namespace citycard::ledger {

namespace {

std::uint64_t micros_since(std::chrono::steady_clock::time_point start) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace

void StorageListener::OnFlushBegin(rocksdb::DB*, const rocksdb::FlushJobInfo& info) {
  std::lock_guard lock(mutex_);
  flush_started_[info.job_id] = Clock::now();
}

void StorageListener::OnFlushCompleted(rocksdb::DB*, const rocksdb::FlushJobInfo& info) {
  std::error_code error;
  const auto bytes = std::filesystem::file_size(info.file_path, error);
  if (!error) flush_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  flushes_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  if (auto started = flush_started_.find(info.job_id); started != flush_started_.end()) {
    flush_micros_.fetch_add(micros_since(started->second), std::memory_order_relaxed);
    flush_started_.erase(started);
  }
}

void StorageListener::OnCompactionCompleted(rocksdb::DB*, const rocksdb::CompactionJobInfo& info) {
  compactions_.fetch_add(1, std::memory_order_relaxed);
  compaction_read_.fetch_add(info.stats.total_input_bytes, std::memory_order_relaxed);
  compaction_written_.fetch_add(info.stats.total_output_bytes, std::memory_order_relaxed);
  compaction_micros_.fetch_add(info.stats.elapsed_micros, std::memory_order_relaxed);
}

void StorageListener::OnStallConditionsChanged(const rocksdb::WriteStallInfo& info) {
  using rocksdb::WriteStallCondition;
  if (info.condition.cur == WriteStallCondition::kDelayed) slowdowns_.fetch_add(1, std::memory_order_relaxed);
  if (info.condition.cur == WriteStallCondition::kStopped) stops_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  if (info.condition.cur == WriteStallCondition::kNormal) {
    if (auto stalled = stalled_.find(info.cf_name); stalled != stalled_.end()) {
      stall_micros_.fetch_add(micros_since(stalled->second), std::memory_order_relaxed);
      stalled_.erase(stalled);
    }
  } else {
    stalled_.try_emplace(info.cf_name, Clock::now());
  }
}

void StorageListener::add_counts_to(StorageActivity& activity) const {
  activity.flushes = flushes_.load(std::memory_order_relaxed);
  activity.flush_bytes_written = flush_bytes_.load(std::memory_order_relaxed);
  activity.flush_micros = flush_micros_.load(std::memory_order_relaxed);
  activity.compactions = compactions_.load(std::memory_order_relaxed);
  activity.compaction_bytes_read = compaction_read_.load(std::memory_order_relaxed);
  activity.compaction_bytes_written = compaction_written_.load(std::memory_order_relaxed);
  activity.compaction_micros = compaction_micros_.load(std::memory_order_relaxed);
  activity.write_slowdowns = slowdowns_.load(std::memory_order_relaxed);
  activity.write_stops = stops_.load(std::memory_order_relaxed);
  activity.write_stall_micros = stall_micros_.load(std::memory_order_relaxed);
}

void StorageListener::add_backlog_to(FlushBacklog& backlog) const {
  const auto now = Clock::now();
  std::lock_guard lock(mutex_);
  for (const auto& [job, started] : flush_started_) {
    backlog.oldest_flush = std::max(backlog.oldest_flush, std::chrono::duration_cast<std::chrono::milliseconds>(now - started));
  }
  backlog.writes_stalled = !stalled_.empty();
}

}  // namespace citycard::ledger
