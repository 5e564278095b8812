// Reader sequence numbers that never repeat, even across power loss.
//
// file := magic:"CCS1" reserved_until:u64be crc:u32be     (CRC-32 of the first 12 bytes)
//
// Numbers below reserved_until may have been handed out. Before handing out
// a number >= reserved_until, the allocator durably raises reserved_until by a
// block (write, fsync, rename, fsync dir). A restart, clean or not, continues
// at the old reserved_until: the rest of the previous block is skipped, never
// reused. Sequence 0 is never used.
//
// Not thread-safe: the agent's loop owns it.
#pragma once

#include <cstdint>
#include <string>

#include "citycard/status.h"

namespace citycard::agent {

struct SequenceOptions {
  // Numbers reserved per durable write. Default 1000: one fsync per 1000 taps,
  // at most 1000 numbers skipped per restart.
  std::uint64_t block_size = 1000;
};

class SequenceAllocator {
 public:
  // floor: numbers below it are never handed out (e.g. the journal's highest
  // sequence + 1, a second line of defence if the file was lost).
  // when_missing: where numbering starts when there is no file at all -- a
  // new reader, or one that lost its state. The agent passes the wall clock
  // in microseconds: above every number it can have handed out before (it
  // hands out far fewer than one a microsecond), so a lost file never makes
  // it repeat one silently.
  static Result<SequenceAllocator> open(const std::string& path, std::uint64_t floor = 1, SequenceOptions options = {},
                                        std::uint64_t when_missing = 1);

  // Never hand out `floor` or below again (the engine's hello_ack said it
  // holds a sequence up to floor - 1): durably, before returning ok.
  Status raise_floor(std::uint64_t floor);
  std::uint64_t next_number() const noexcept { return next_; }

  // The next number; io_error if the reservation cannot be made durable (then
  // no number is handed out).
  Result<std::uint64_t> next();

  std::uint64_t reserved_until() const noexcept { return reserved_until_; }

 private:
  SequenceAllocator(std::string path, SequenceOptions options) : path_(std::move(path)), options_(options) {}
  Status reserve(std::uint64_t until);

  std::string path_;
  SequenceOptions options_;
  std::uint64_t next_ = 1;
  std::uint64_t reserved_until_ = 1;
};

}  // namespace citycard::agent
