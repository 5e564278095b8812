// What the writer knows of the sequence numbers one source (a reader) has
// posted: the highest (its high-water mark) and, exactly, which of the last
// window_bits below it were posted since the ledger opened. Taps of one
// reader reach the ledger slightly out of order (different shards, a resend);
// for a sequence inside the window, whether it posted is known without a
// read. Below the window (a late offline upload, or anything posted before
// the ledger opened) only the disk knows. Internal to ledger/.
#pragma once

#include <cstdint>
#include <vector>

#include "citycard/limits.h"

namespace citycard::ledger {

class SequenceWindow {
 public:
  static constexpr std::uint64_t window_bits = 1u << 16;
  // Batches being prepared or committed cannot reach below the window: a key
  // posted in one of them is always known exactly to the next prepare.
  static_assert(window_bits > 3 * limits::batch_groups_max);

  enum class Known : std::uint8_t { not_posted, posted, unknown };

  // Opened with `mark` on disk: nothing at or below it is known.
  explicit SequenceWindow(std::uint64_t mark = 0) : mark_(mark), tracked_from_(mark + 1) {}

  std::uint64_t mark() const noexcept { return mark_; }

  Known known(std::uint64_t sequence) const noexcept {
    if (sequence > mark_) return Known::not_posted;
    if (sequence < lowest_known()) return Known::unknown;
    return bit(sequence) ? Known::posted : Known::not_posted;
  }

  // `sequence` has posted (in a batch now being prepared).
  void record(std::uint64_t sequence) {
    if (bits_.empty()) bits_.assign(window_bits / 64, 0);
    if (sequence > mark_) {
      if (sequence - mark_ >= window_bits) {
        std::fill(bits_.begin(), bits_.end(), 0);
      } else {
        for (std::uint64_t s = mark_ + 1; s < sequence; ++s) clear(s);
      }
      mark_ = sequence;
    } else if (sequence < lowest_known()) {
      return;  // below the window: the disk knows
    }
    bits_[(sequence % window_bits) / 64] |= std::uint64_t{1} << (sequence % 64);
  }

 private:
  std::uint64_t lowest_known() const noexcept {
    const std::uint64_t window_start = mark_ >= window_bits ? mark_ - window_bits + 1 : 1;
    return tracked_from_ > window_start ? tracked_from_ : window_start;
  }
  bool bit(std::uint64_t sequence) const noexcept {
    return !bits_.empty() && (bits_[(sequence % window_bits) / 64] >> (sequence % 64) & 1) != 0;
  }
  void clear(std::uint64_t sequence) noexcept { bits_[(sequence % window_bits) / 64] &= ~(std::uint64_t{1} << (sequence % 64)); }

  std::uint64_t mark_;
  std::uint64_t tracked_from_;       // every posted sequence from here (within the window) is in bits_
  std::vector<std::uint64_t> bits_;  // bit s % window_bits; allocated on the first record
};

}  // namespace citycard::ledger
