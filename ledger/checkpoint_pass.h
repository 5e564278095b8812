// Which account records a checkpoint still has to write. Accounts changed
// since the last pass started are one bit each over the dense account index
// (1.3M cards: 160 KB), so a pass starts in a swap and a clear instead of a
// sort and a copy of every changed record, and its chunks still come out in
// key order (sorted memtable inserts). The records themselves are read when
// a chunk is written. Internal to ledger/.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace citycard::ledger {

class CheckpointPass {
 public:
  // `index` changed: the next pass writes it.
  void mark_changed(std::uint64_t index) {
    const std::size_t word = index / 64;
    if (word >= changed_.size()) changed_.resize(word + 1 + word / 8, 0);
    const std::uint64_t bit = std::uint64_t{1} << (index % 64);
    if ((changed_[word] & bit) == 0) {
      changed_[word] |= bit;
      ++changed_count_;
    }
  }

  std::size_t changed_count() const noexcept { return changed_count_; }
  bool in_progress() const noexcept { return remaining_ > 0; }
  std::size_t remaining() const noexcept { return remaining_; }

  // Everything changed so far becomes the pass; nothing is changed after.
  // Only when no pass is in progress.
  void start() {
    pass_.swap(changed_);
    changed_.assign(pass_.size(), 0);
    remaining_ = changed_count_;
    changed_count_ = 0;
    cursor_ = 0;
  }

  // Calls write(index) for up to `max` accounts of the pass, in increasing
  // index order, and takes them out of it; returns how many.
  template <typename Write>
  std::size_t take(std::size_t max, Write&& write) {
    std::size_t taken = 0;
    while (taken < max && remaining_ > 0) {
      while (pass_[cursor_] == 0) ++cursor_;  // remaining_ > 0: a set bit lies ahead
      std::uint64_t& word = pass_[cursor_];
      const std::uint64_t index = cursor_ * 64 + static_cast<std::uint64_t>(std::countr_zero(word));
      word &= word - 1;
      --remaining_;
      ++taken;
      write(index);
    }
    return taken;
  }

  void clear() {
    changed_.clear();
    pass_.clear();
    changed_count_ = remaining_ = cursor_ = 0;
  }

 private:
  std::vector<std::uint64_t> changed_;  // since the pass in progress started
  std::vector<std::uint64_t> pass_;     // still to write in the pass in progress
  std::size_t changed_count_ = 0;
  std::size_t remaining_ = 0;
  std::size_t cursor_ = 0;  // words of pass_ before it are all zero
};

}  // namespace citycard::ledger
