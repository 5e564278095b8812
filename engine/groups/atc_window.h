// Replay detection for card proofs by (card, counter) uniqueness, not order.
//
// A card's counter (ATC) grows by one with every authentication, but taps
// reach the engine out of counter order: a bus out of coverage uploads its
// taps after the same card's later online taps. So the engine keeps, per
// card, the highest counter accepted and a bitmap of the window_counters
// counters below and including it, and accepts a counter that
//   - is above the highest (the window slides up), or
//   - is inside the window and not seen yet.
// It refuses a counter already seen (the same proof, or a clone replaying
// one) and a counter below the window (older than anything the window can
// prove unseen).
//
// Why 256 suffices: an offline tap is refused below the window only if the
// card authenticated 256 or more times between it and the newest accepted
// tap. A card authenticates once per tap (twice when a reader's online
// attempt times out); the heaviest city riders make about 10 taps a day, so
// 256 counters are more than three weeks, while a reader's offline queue is
// uploaded when coverage returns (hours; docs/card-protocol.md) and the
// engine's event-time limits refuse far older offline taps anyway.
//
// Stored with the card's proof record in the same write as the tap:
// value := highest:u32le seen:32 (bit i of byte i/8, LSB first = highest - i)
// A 4-byte value (the format before windows) is a highest with nothing else seen.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "citycard/coding.h"

namespace citycard::engine {

class AtcWindow {
 public:
  static constexpr std::uint32_t window_counters = 256;
  static constexpr std::size_t encoded_bytes = 4 + window_counters / 8;

  enum class Verdict : std::uint8_t { fresh, replayed, below_window };

  // What accept() would say; changes nothing. Counter 0 is never a card's
  // (the card increments before it signs): below_window.
  Verdict check(std::uint32_t atc) const noexcept {
    if (atc == 0) return Verdict::below_window;
    if (highest_ == 0 || atc > highest_) return Verdict::fresh;
    const std::uint32_t distance = highest_ - atc;
    if (distance >= window_counters) return Verdict::below_window;
    return bit(distance) ? Verdict::replayed : Verdict::fresh;
  }

  // Records a fresh counter (check() must have said fresh).
  void accept(std::uint32_t atc) noexcept {
    if (highest_ == 0 || atc > highest_) {
      const std::uint32_t shift = highest_ == 0 ? window_counters : atc - highest_;
      shift_up(shift);
      highest_ = atc;
      set(0);
    } else {
      set(highest_ - atc);
    }
  }

  std::uint32_t highest() const noexcept { return highest_; }
  bool empty() const noexcept { return highest_ == 0; }

  std::string encode() const {
    std::string out(encoded_bytes, '\0');
    coding::store_le<std::uint32_t>(out.data(), highest_);
    for (std::size_t i = 0; i < seen_.size(); ++i) out[4 + i] = static_cast<char>(seen_[i]);
    return out;
  }
  // nullopt: neither 4 nor encoded_bytes long.
  static std::optional<AtcWindow> decode(std::string_view value) {
    if (value.size() != 4 && value.size() != encoded_bytes) return std::nullopt;
    AtcWindow window;
    window.highest_ = coding::load_le<std::uint32_t>(value.data());
    if (value.size() == 4) {
      if (window.highest_ != 0) window.set(0);
    } else {
      for (std::size_t i = 0; i < window.seen_.size(); ++i) window.seen_[i] = static_cast<std::uint8_t>(value[4 + i]);
    }
    return window;
  }

 private:
  bool bit(std::uint32_t distance) const noexcept { return (seen_[distance / 8] >> (distance % 8)) & 1u; }
  void set(std::uint32_t distance) noexcept { seen_[distance / 8] = static_cast<std::uint8_t>(seen_[distance / 8] | (1u << (distance % 8))); }
  // Every bit moves `shift` places away from the highest; those past the window fall off.
  void shift_up(std::uint32_t shift) noexcept {
    if (shift >= window_counters) {
      seen_.fill(0);
      return;
    }
    for (std::uint32_t distance = window_counters; distance-- > shift;) {
      std::uint32_t from = distance - shift;
      bool value = bit(from);
      seen_[distance / 8] = static_cast<std::uint8_t>(value ? seen_[distance / 8] | (1u << (distance % 8))
                                                            : seen_[distance / 8] & ~(1u << (distance % 8)));
    }
    for (std::uint32_t distance = 0; distance < shift; ++distance) {
      seen_[distance / 8] = static_cast<std::uint8_t>(seen_[distance / 8] & ~(1u << (distance % 8)));
    }
  }

  std::uint32_t highest_ = 0;
  std::array<std::uint8_t, window_counters / 8> seen_{};
};

}  // namespace citycard::engine
