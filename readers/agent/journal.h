// The durable offline queue: an append-only journal of taps and acknowledgements.
//
// file    := magic:"CCQ1" record*
// record  := length:u32be crc:u32be payload[length]     crc = CRC-32(length bytes || payload)
// payload := 0x01 queued_tap                            a tap admitted by this reader
//          | 0x02 count:u32be sequence:u64be[count]     taps the engine has acknowledged
//
// append() returns only after the record is on disk (fdatasync), so a rider
// is let through only once the tap cannot be lost; it refuses (io_error) when
// the file it holds open is no longer linked (its directory removed), since
// no one would ever read what it wrote there.
//
// A record is damaged when its length is out of range or past the end, its
// CRC does not match, or its payload is not a tap or an acknowledgement.
// open() then scans forward byte by byte for the next record that frames,
// checks and parses, and goes on from there: one bad disk sector costs the
// records in it, not every record after it. The skipped bytes stay in the
// file (for inspection) until the next compaction, and open_report() counts
// them. Damage with no good record after it is a tail torn by a crash (only
// the last record can be torn): it is cut off. A record that checks but
// repeats a pending tap is corruption, and open() refuses.
//
// compact() writes the live taps to a new file, opens and locks it, and only
// then renames it over the old one (write, fsync, open, rename, fsync dir):
// when anything fails the journal stays on its old file, and after the rename
// nothing is left to fail before appends go to the new one.
//
// Not thread-safe: the agent's loop owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <unordered_set>
#include <vector>

#include "citycard/status.h"
#include "queued_tap.h"

namespace citycard::agent {

struct JournalOptions {
  // Taps waiting for the engine before append() answers busy. Default 100000
  // (~2 weeks of a busy bus offline); memory ~ 200 bytes per tap.
  std::size_t taps_max = 100'000;
  // compact() runs by itself after an acknowledgement once the file holds at
  // least this many bytes of acknowledged records and they outweigh the live
  // ones. Default 1 MiB.
  std::size_t compact_dead_bytes_min = 1 << 20;
};

struct JournalOpenReport {
  std::size_t taps_pending = 0;
  std::size_t torn_tail_bytes = 0;   // cut off the end: a record torn by a crash
  // Damaged stretches skipped before a good record (each held at least one
  // record: a tap lost, or an acknowledgement whose taps are sent again), and
  // their bytes; the first starts at damaged_first_offset.
  std::size_t damaged_ranges = 0;
  std::size_t damaged_bytes = 0;
  std::size_t damaged_first_offset = 0;
};

class Journal {
 public:
  static Result<Journal> open(const std::string& path, JournalOptions options = {});
  Journal(Journal&& other) noexcept;
  Journal& operator=(Journal&&) = delete;
  Journal(const Journal&) = delete;
  ~Journal();

  // Durable before it returns. busy when taps_max are pending; invalid_argument
  // if a tap with this id is already pending (the same tap must not be queued
  // twice), or if its record would not decode when read back (nothing written).
  Status append(const QueuedTap& tap);
  // Removes acknowledged taps (unknown sequences are ignored: an answer to a
  // retried upload may arrive twice). Durable before it returns.
  Status acknowledge(std::span<const std::uint64_t> sequences);
  // Rewrites the file with only the pending taps.
  Status compact();

  // Pending taps in the order they were admitted.
  const std::deque<QueuedTap>& pending() const noexcept { return pending_; }
  std::uint64_t highest_sequence() const noexcept { return highest_sequence_; }
  const JournalOpenReport& open_report() const noexcept { return report_; }
  std::uint64_t file_bytes() const noexcept { return end_; }

 private:
  Journal(std::string path, JournalOptions options, int fd) : path_(std::move(path)), options_(options), fd_(fd) {}
  Status replay(const card::Bytes& contents);
  Status append_record(const card::Bytes& payload);
  Status maybe_compact();

  std::string path_;
  JournalOptions options_;
  int fd_ = -1;
  std::uint64_t end_ = 0;           // bytes of valid journal
  std::uint64_t dead_bytes_ = 0;    // bytes of acknowledged taps and ack records
  std::deque<QueuedTap> pending_;
  std::unordered_set<std::uint64_t> pending_sequences_;
  std::uint64_t highest_sequence_ = 0;   // over every tap ever seen in this file
  JournalOpenReport report_;
  // A compaction's rename whose directory sync failed: synced before the next append.
  bool directory_unsynced_ = false;
};

}  // namespace citycard::agent
