// Taking writes again after a failed one, without closing the ledger: the
// readers (admin API, settlement snapshots) keep their database handle.
#include <rocksdb/write_batch.h>

#include "rocks_ledger.h"

namespace citycard::ledger {

Status RocksLedger::recover() {
  if (options_.read_only) return Status::invalid_argument("ledger is open read-only");
  std::lock_guard prepare_lock(prepare_mutex_);
  {
    std::lock_guard pending(pending_mutex_);
    // A batch still prepared was built on the view about to be replaced.
    if (!pending_.empty()) return Status::busy("a prepared batch still waits for its commit");
  }
  std::lock_guard commit_lock(commit_mutex_);
  if (log_write_failed_) {
    return Status::unavailable("a write failed inside the ledger's log file; RocksDB cannot resume from that in "
                               "process: restart the engine (nothing answered is lost)");
  }
  if (Status room = check_room(); !room) return room;
  // Ok also when there is no background error (check_room refused the
  // write, a failed read poisoned the view); clears a flush's error.
  rocksdb::Status resumed = db_->Resume();
  if (!resumed.ok()) return Status::io_error("ledger cannot resume writing: " + resumed.ToString());
  // Resume() may succeed on a disk that takes no more; a real synced write
  // says whether one would land. The format mark written again changes nothing.
  rocksdb::WriteBatch probe;
  probe.Put(family(f_default), encoding::format_key, encoding::format_value);
  if (Status written = write_synced(probe); !written) return written;
  std::lock_guard lock(mutex_);
  if (Status loaded = load_locked(); !loaded) return loaded;
  poisoned_ = false;
  return Status::ok();
}

}  // namespace citycard::ledger
