// A small, seeded, portable random source for the simulator. The standard
// distributions are implementation-defined, so everything here is computed
// from splitmix64 bits alone: the same seed gives the same city day on every
// compiler and machine.
#pragma once

#include <cmath>
#include <cstdint>

namespace citycard::loadgen {

// splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, full period.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  // A stream of its own for (seed, key): cards and readers draw independently,
  // so one card's day does not depend on how many cards came before it.
  Random(std::uint64_t seed, std::uint64_t key) : state_(mix(seed ^ mix(key + 0x632BE59BD9B4E019ull))) {}

  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    return mix_bits(z);
  }
  // [0, 1) with 53 bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // [0, bound); bound > 0. Lemire's multiply-shift (bias < 2^-32 for our bounds).
  std::uint32_t below(std::uint32_t bound) noexcept {
    return static_cast<std::uint32_t>(((next() >> 32) * static_cast<std::uint64_t>(bound)) >> 32);
  }
  // [low, high]; low <= high.
  std::int64_t between(std::int64_t low, std::int64_t high) noexcept {
    return low + static_cast<std::int64_t>(below(static_cast<std::uint32_t>(high - low + 1)));
  }
  bool chance(double probability) noexcept { return uniform() < probability; }
  // Normal(mean, sd) by Box-Muller, from uniform() only.
  double normal(double mean, double sd) noexcept {
    double u1 = uniform();
    if (u1 < 1e-300) u1 = 1e-300;
    double u2 = uniform();
    return mean + sd * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  static std::uint64_t mix(std::uint64_t z) noexcept { return mix_bits(z + 0x9E3779B97F4A7C15ull); }

 private:
  static std::uint64_t mix_bits(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  std::uint64_t state_;
};

}  // namespace citycard::loadgen
