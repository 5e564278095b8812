#include "sim_file_system.h"

#include <algorithm>
#include <filesystem>
#include <utility>

namespace citycard::sim {
namespace {

// "000012.log" in the ledger's directory: a write-ahead log (the info log is "LOG").
bool is_wal(const std::string& name) {
  const std::string base = std::filesystem::path(name).filename().string();
  return base.size() > 4 && base.compare(base.size() - 4, 4, ".log") == 0 && base[0] >= '0' && base[0] <= '9';
}

// A writable file that reports its appends and syncs to the file system.
class SimFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  SimFile(std::unique_ptr<rocksdb::FSWritableFile> file, SimFileSystem& fs, std::string name)
      : FSWritableFileOwnerWrapper(std::move(file)), fs_(fs), name_(std::move(name)) {}

  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           rocksdb::IODebugContext* dbg) override {
    if (auto refused = fs_.on_append(name_, data.size()); !refused.ok()) return refused;
    return target()->Append(data, options, dbg);
  }
  rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                           const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                                     rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("the simulator's files take appends only");
  }
  rocksdb::IOStatus PositionedAppend(const rocksdb::Slice&, uint64_t, const rocksdb::IOOptions&,
                                     const rocksdb::DataVerificationInfo&, rocksdb::IODebugContext*) override {
    return rocksdb::IOStatus::NotSupported("the simulator's files take appends only");
  }
  rocksdb::IOStatus Flush(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto dead = fs_.check_alive(); !dead.ok()) return dead;
    return target()->Flush(options, dbg);
  }
  rocksdb::IOStatus Sync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto refused = fs_.on_sync(name_); !refused.ok()) return refused;
    return target()->Sync(options, dbg);
  }
  rocksdb::IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto refused = fs_.on_sync(name_); !refused.ok()) return refused;
    return target()->Fsync(options, dbg);
  }
  // A range sync is a hint to the kernel, not a promise: counted as nothing.
  rocksdb::IOStatus RangeSync(uint64_t, uint64_t, const rocksdb::IOOptions&, rocksdb::IODebugContext*) override {
    return fs_.check_alive();
  }
  rocksdb::IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    if (auto dead = fs_.check_alive(); !dead.ok()) return dead;
    return target()->Truncate(size, options, dbg);
  }
  rocksdb::IOStatus Close(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    // The descriptor is let go either way; a dead process's close says so.
    rocksdb::IOStatus closed = target()->Close(options, dbg);
    if (auto dead = fs_.check_alive(); !dead.ok()) return dead;
    return closed;
  }

 private:
  SimFileSystem& fs_;
  std::string name_;
};

}  // namespace

SimFileSystem::SimFileSystem() : FileSystemWrapper(rocksdb::FileSystem::Default()) {}

void SimFileSystem::fail_next_wal_sync() {
  std::lock_guard lock(mutex_);
  fail_sync_ = true;
}

void SimFileSystem::fill_disk_at_next_wal_append() {
  std::lock_guard lock(mutex_);
  full_ = true;
}

void SimFileSystem::slow_next_wal_sync(std::uint64_t delay_us) {
  std::lock_guard lock(mutex_);
  slow_us_ = delay_us;
}

std::uint64_t SimFileSystem::take_delay_us() {
  std::lock_guard lock(mutex_);
  return std::exchange(delay_us_, 0);
}

void SimFileSystem::die() {
  std::lock_guard lock(mutex_);
  dead_ = true;
}

void SimFileSystem::revive() {
  std::lock_guard lock(mutex_);
  dead_ = false;
  fail_sync_ = false;
  full_ = false;
  slow_us_ = 0;
}

bool SimFileSystem::dead() const {
  std::lock_guard lock(mutex_);
  return dead_;
}

rocksdb::IOStatus SimFileSystem::check_alive() const {
  std::lock_guard lock(mutex_);
  return dead_ ? rocksdb::IOStatus::IOError("simulated: the process is dead") : rocksdb::IOStatus::OK();
}

rocksdb::IOStatus SimFileSystem::on_append(const std::string& name, std::uint64_t bytes) {
  std::lock_guard lock(mutex_);
  if (dead_) return rocksdb::IOStatus::IOError("simulated: the process is dead");
  Tracked& file = files_[name];
  const bool faultable = file.wal && std::this_thread::get_id() == owner_;
  if (faultable && full_) {
    full_ = false;
    ++faults_.disk_full;
    return rocksdb::IOStatus::NoSpace("simulated: no space left on device");
  }
  file.written += bytes;
  file.stamp = ++stamp_;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus SimFileSystem::on_sync(const std::string& name) {
  std::lock_guard lock(mutex_);
  if (dead_) return rocksdb::IOStatus::IOError("simulated: the process is dead");
  Tracked& file = files_[name];
  const bool faultable = file.wal && std::this_thread::get_id() == owner_;
  if (faultable && fail_sync_) {
    fail_sync_ = false;
    ++faults_.syncs_failed;
    return rocksdb::IOStatus::IOError("simulated: fsync failed");
  }
  if (faultable && slow_us_ > 0) {
    ++faults_.syncs_slow;
    faults_.slow_us += slow_us_;
    delay_us_ += std::exchange(slow_us_, 0);
  }
  file.synced = file.written;
  return rocksdb::IOStatus::OK();
}

rocksdb::IOStatus SimFileSystem::wrap(const std::string& name, std::uint64_t size_now, rocksdb::IOStatus opened,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result) {
  if (!opened.ok()) return opened;
  {
    std::lock_guard lock(mutex_);
    files_[name] = Tracked{size_now, size_now, ++stamp_, is_wal(name)};
  }
  *result = std::make_unique<SimFile>(std::move(*result), *this, name);
  return opened;
}

rocksdb::IOStatus SimFileSystem::NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                                 std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                 rocksdb::IODebugContext* dbg) {
  if (auto dead = check_alive(); !dead.ok()) return dead;
  return wrap(name, 0, target()->NewWritableFile(name, options, result, dbg), result);
}

rocksdb::IOStatus SimFileSystem::ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                    rocksdb::IODebugContext* dbg) {
  if (auto dead = check_alive(); !dead.ok()) return dead;
  std::error_code error;
  const auto size = std::filesystem::file_size(name, error);
  // What was there before it was reopened counts as synced: the simulator
  // cannot know better, and RocksDB reopens only files it synced.
  return wrap(name, error ? 0 : size, target()->ReopenWritableFile(name, options, result, dbg), result);
}

rocksdb::IOStatus SimFileSystem::ReuseWritableFile(const std::string& name, const std::string& old_name,
                                                   const rocksdb::FileOptions& options,
                                                   std::unique_ptr<rocksdb::FSWritableFile>* result,
                                                   rocksdb::IODebugContext* dbg) {
  if (auto dead = check_alive(); !dead.ok()) return dead;
  {
    std::lock_guard lock(mutex_);
    files_.erase(old_name);
  }
  return wrap(name, 0, target()->ReuseWritableFile(name, old_name, options, result, dbg), result);
}

rocksdb::IOStatus SimFileSystem::RenameFile(const std::string& from, const std::string& to,
                                            const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
  if (auto dead = check_alive(); !dead.ok()) return dead;
  rocksdb::IOStatus renamed = target()->RenameFile(from, to, options, dbg);
  if (renamed.ok()) {
    std::lock_guard lock(mutex_);
    auto it = files_.find(from);
    if (it != files_.end()) {
      files_[to] = it->second;
      files_.erase(from);
    } else {
      files_.erase(to);  // replaced by a file that was never written here: all of it synced
    }
  }
  return renamed;
}

rocksdb::IOStatus SimFileSystem::DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                                            rocksdb::IODebugContext* dbg) {
  if (auto dead = check_alive(); !dead.ok()) return dead;
  rocksdb::IOStatus deleted = target()->DeleteFile(name, options, dbg);
  if (deleted.ok()) {
    std::lock_guard lock(mutex_);
    files_.erase(name);
  }
  return deleted;
}

rocksdb::IOStatus SimFileSystem::LinkFile(const std::string& from, const std::string& to,
                                          const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) {
  if (auto dead = check_alive(); !dead.ok()) return dead;
  rocksdb::IOStatus linked = target()->LinkFile(from, to, options, dbg);
  if (linked.ok()) {
    std::lock_guard lock(mutex_);
    if (auto it = files_.find(from); it != files_.end()) files_[to] = it->second;
  }
  return linked;
}

rocksdb::IOStatus SimFileSystem::Truncate(const std::string& name, size_t size, const rocksdb::IOOptions& options,
                                          rocksdb::IODebugContext* dbg) {
  if (auto dead = check_alive(); !dead.ok()) return dead;
  rocksdb::IOStatus cut = target()->Truncate(name, size, options, dbg);
  if (cut.ok()) {
    std::lock_guard lock(mutex_);
    if (auto it = files_.find(name); it != files_.end()) {
      it->second.written = std::min<std::uint64_t>(it->second.written, size);
      it->second.synced = std::min<std::uint64_t>(it->second.synced, size);
    }
  }
  return cut;
}

void SimFileSystem::lose_unsynced(const std::function<std::uint64_t(std::uint64_t unsynced)>& torn_keep) {
  std::lock_guard lock(mutex_);
  ++faults_.power_losses;
  // The newest WAL with an unsynced tail: the one a torn write may leave half of.
  const std::string* newest = nullptr;
  std::uint64_t newest_stamp = 0;
  for (const auto& [name, file] : files_) {
    if (file.wal && file.written > file.synced && file.stamp > newest_stamp) {
      newest = &name;
      newest_stamp = file.stamp;
    }
  }
  for (auto& [name, file] : files_) {
    if (file.written <= file.synced) continue;
    std::uint64_t keep = file.synced;
    if (newest != nullptr && &name == newest && torn_keep) {
      const std::uint64_t kept = std::min(torn_keep(file.written - file.synced), file.written - file.synced);
      if (kept > 0) ++faults_.torn_writes;
      keep += kept;
    }
    std::error_code error;
    if (std::filesystem::exists(name, error)) std::filesystem::resize_file(name, keep, error);
    faults_.bytes_lost += file.written - keep;
    file.written = keep;
    file.synced = keep;
  }
}

}  // namespace citycard::sim
