// What the ledger's storage is doing: the bytes a write costs and the
// background work (flushes, compactions, write stalls) that competes with
// taps for the disk and the cores. For the engine's metrics and the
// sustained-load bench (bench/engine/sustained.sh).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace citycard::ledger {

// One column family's table files: what each kind of entry costs on disk.
struct FamilyUsage {
  std::string name;                  // "history", "card_states", ...
  std::uint64_t entries = 0;         // in its table files (not yet the memtables)
  std::uint64_t raw_bytes = 0;       // their keys and values, uncompressed
  std::uint64_t table_bytes = 0;     // the files, compressed
};

struct StorageActivity {
  // Since the ledger was opened.
  std::uint64_t synced_writes = 0;
  std::uint64_t log_bytes_written = 0;  // their WriteBatch payloads: what the WAL took, less its record headers
  std::uint64_t write_micros = 0;       // time in those writes
  std::uint64_t log_sync_micros = 0;    // of which syncing the log (fdatasync)
  // Writes of 10 ms or more, by where most of their time went: the log's
  // sync (the disk), or elsewhere (memtable inserts, a stall, the CPU).
  std::uint64_t slow_writes_in_sync = 0;
  std::uint64_t slow_writes_elsewhere = 0;
  std::uint64_t flushes = 0;
  std::uint64_t flush_bytes_written = 0;  // table files made by flushes
  std::uint64_t flush_micros = 0;
  std::uint64_t compactions = 0;
  std::uint64_t compaction_bytes_read = 0;
  std::uint64_t compaction_bytes_written = 0;
  std::uint64_t compaction_micros = 0;
  std::uint64_t write_slowdowns = 0;    // times a family's writes became delayed
  std::uint64_t write_stops = 0;        // times they stopped
  std::uint64_t write_stall_micros = 0; // time some family was delayed or stopped (ended stalls)
  // Now.
  std::uint64_t table_bytes = 0;               // table files of every family
  std::uint64_t memtable_bytes = 0;            // active and immutable memtables
  std::uint64_t pending_compaction_bytes = 0;  // RocksDB's estimate of the compaction debt
  std::uint64_t level0_files_max = 0;          // most level-0 files in one family (writes slow down at 20)
  std::uint64_t flushes_running = 0;
  std::uint64_t compactions_running = 0;
  std::vector<FamilyUsage> families;
};

// Whether the flushes keep up, now: what a thread that could starve them
// (real-time taps, engine/core/realtime_yield.h) watches.
struct FlushBacklog {
  std::uint64_t immutable_memtables_max = 0;     // most full memtables one family has waiting for a flush
  std::chrono::milliseconds oldest_flush{0};     // how long the longest-running flush has run (0: none runs)
  bool writes_stalled = false;                   // some family's writes are delayed or stopped
};

}  // namespace citycard::ledger
