// The simulator's disk: RocksDB's real files on the real disk, reached
// through a rocksdb::FileSystemWrapper that remembers, per file written since
// it was made, how many bytes were written and how many were synced, and
// that injects the faults the simulator arms:
//
// - a failed sync of the write-ahead log (the next WAL Sync/Fsync returns an
//   I/O error and syncs nothing);
// - a full disk (the next WAL Append returns IOStatus::NoSpace, writing nothing);
// - a slow sync (the next WAL sync succeeds; the delay is counted, not slept:
//   the simulator adds it to its clock);
// - process death (die(): every later write, sync, create, rename or delete
//   fails, so nothing the dying process still tries reaches the disk);
// - power loss (lose_unsynced(): after the dead process has let go of its
//   files, every file is cut to its synced length; a torn write keeps a
//   random prefix of the WAL's unsynced tail instead).
//
// Only the WAL gets the write faults, and only from the thread that made the
// file system (the simulator's): RocksDB's flush threads also sync closed
// WALs, at moments no seed decides, so a fault armed for the ledger's commit
// lands on the same write every run. Not simulated: lost directory entries (a file created or
// renamed, then the directory not synced), reordered writes within a sync.
//
// Thread-safe (RocksDB's own threads write its info log through it).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

namespace citycard::sim {

struct DiskFaults {
  std::uint64_t syncs_failed = 0;
  std::uint64_t disk_full = 0;
  std::uint64_t syncs_slow = 0;
  std::uint64_t slow_us = 0;          // simulated delay of the slow syncs, microseconds
  std::uint64_t power_losses = 0;
  std::uint64_t torn_writes = 0;      // power losses that kept part of the WAL's unsynced tail
  std::uint64_t bytes_lost = 0;       // unsynced bytes cut off by power losses
};

class SimFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  SimFileSystem();
  const char* Name() const override { return "SimFileSystem"; }

  // Faults for the next WAL operation of their kind (one each at most).
  void fail_next_wal_sync();
  void fill_disk_at_next_wal_append();
  void slow_next_wal_sync(std::uint64_t delay_us);
  // The simulated delay of slow syncs since the last call, microseconds.
  std::uint64_t take_delay_us();

  // The process died: everything after fails. revive() for the next one.
  void die();
  void revive();
  bool dead() const;
  // Power loss, once the dead process's files are closed: cuts every file
  // written since this file system was made to what was synced of it.
  // `torn_keep(unsynced)` says how many bytes of the newest WAL's unsynced
  // tail survive (0 .. unsynced); an empty function keeps none.
  void lose_unsynced(const std::function<std::uint64_t(std::uint64_t unsynced)>& torn_keep);

  const DiskFaults& faults() const { return faults_; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReuseWritableFile(const std::string& name, const std::string& old_name,
                                      const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& name, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& from, const std::string& to, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& name, size_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;

  // What the file wrapper reports (sim_file_system.cpp).
  struct Tracked {
    std::uint64_t written = 0;
    std::uint64_t synced = 0;
    std::uint64_t stamp = 0;  // order of the last append, for "the newest WAL"
    bool wal = false;
  };
  rocksdb::IOStatus on_append(const std::string& name, std::uint64_t bytes);
  rocksdb::IOStatus on_sync(const std::string& name);
  rocksdb::IOStatus check_alive() const;

 private:
  rocksdb::IOStatus wrap(const std::string& name, std::uint64_t size_now, rocksdb::IOStatus opened,
                         std::unique_ptr<rocksdb::FSWritableFile>* result);

  mutable std::mutex mutex_;
  std::map<std::string, Tracked> files_;
  std::uint64_t stamp_ = 0;
  bool dead_ = false;
  bool fail_sync_ = false;
  bool full_ = false;
  std::uint64_t slow_us_ = 0;
  std::uint64_t delay_us_ = 0;
  DiskFaults faults_;
  const std::thread::id owner_ = std::this_thread::get_id();  // the only thread faults land on
};

}  // namespace citycard::sim
