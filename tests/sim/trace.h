// The run's trace hash: every event the world saw (a step's move, a decision
// heard, an action's answer, a crash) and the balances at the end, folded
// into one 64-bit FNV-1a. The same seed must give the same hash: that is
// how replaying a seed is checked to be exact.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string_view>

namespace citycard::sim {

class Trace {
 public:
  // Every event is also written to `out` (citycard-sim --trace).
  void echo(std::FILE* out) { out_ = out; }
  void add(std::string_view text) {
    if (out_ != nullptr) std::fprintf(out_, " %.*s", static_cast<int>(text.size()), text.data());
    for (unsigned char c : text) hash_ = (hash_ ^ c) * 0x100000001B3ull;
    hash_ = (hash_ ^ 0xFF) * 0x100000001B3ull;  // ends the event: "ab","c" is not "a","bc"
  }
  void add(std::int64_t value) {
    if (out_ != nullptr) std::fprintf(out_, " %lld", static_cast<long long>(value));
    for (int i = 0; i < 8; ++i) hash_ = (hash_ ^ static_cast<std::uint8_t>(value >> (8 * i))) * 0x100000001B3ull;
  }
  std::uint64_t hash() const { return hash_; }

 private:
  std::uint64_t hash_ = 0xCBF29CE484222325ull;
  std::FILE* out_ = nullptr;
};

}  // namespace citycard::sim
