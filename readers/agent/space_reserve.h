// Room kept on the state directory's filesystem for the writes that admit
// a rider: a file of reserve_bytes allocated while there is space
// (state_dir/space.reserve), given up when a write finds the disk full so
// that the write -- the tap's journal record, a sequence reservation -- can
// land. An admitted offline tap that cannot be journaled would be a lost
// tap; with the reserve a full disk costs the reader nothing until the
// reserve is used up too (docs/readers.md, "A full disk").
//
// file := reserve_bytes allocated bytes (posix_fallocate), contents unused
//
// Not thread-safe: the agent's loop owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "citycard/status.h"

namespace citycard::agent {

class SpaceReserve {
 public:
  // bytes 0: no reserve (every write meets a full disk as it is).
  SpaceReserve(std::string path, std::uint64_t bytes) : path_(std::move(path)), bytes_(bytes) {}

  // Makes sure the reserve is in place; an error when the disk has no room
  // for it (the agent runs without, and tries again later).
  Status restore();
  bool held() const noexcept { return held_; }

  // Runs `write`; if it finds the disk full and the reserve is held, gives
  // the reserve up and runs it once more. `released` says whether it did.
  Status write_with_reserve(const std::function<Status()>& write, bool& released);

 private:
  std::string path_;
  std::uint64_t bytes_ = 0;
  bool held_ = false;
};

}  // namespace citycard::agent
