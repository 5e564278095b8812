// Time as a value: microseconds since the Unix epoch, UTC. Time enters the
// system with the tap (event time) or the operator's command; nothing that
// rates or posts reads a clock.
#pragma once

#include <compare>
#include <cstdint>

namespace citycard {

struct EventTime {
  std::int64_t unix_us = 0;

  static constexpr EventTime from_unix_seconds(std::int64_t seconds) { return {seconds * 1'000'000}; }
  constexpr std::int64_t unix_seconds() const { return unix_us >= 0 ? unix_us / 1'000'000 : -((-unix_us + 999'999) / 1'000'000); }
  auto operator<=>(const EventTime&) const = default;
};

inline constexpr std::int64_t us_per_second = 1'000'000;
inline constexpr std::int64_t us_per_minute = 60 * us_per_second;
inline constexpr std::int64_t us_per_hour = 60 * us_per_minute;
inline constexpr std::int64_t us_per_day = 24 * us_per_hour;

}  // namespace citycard
