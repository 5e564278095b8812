// Business days: which day a moment belongs to, in a fixed local offset.
//
// A business day is named by the local calendar date on which it starts and
// runs from that date's close time (default 03:00) to the next date's close
// time, so a 01:30 bus ride after midnight still belongs to the evening's day.
// The offset is fixed (Asia/Taipei has no daylight saving time); configuration
// arrives as values and nothing here reads a clock.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "citycard/status.h"
#include "citycard/time.h"

namespace citycard::settlement {

struct DayConfig {
  // Local time minus UTC, minutes; -840..840. Default 480 (+08:00, Asia/Taipei).
  std::int32_t utc_offset_minutes = 480;
  // Local time at which one business day ends and the next begins, minutes
  // after local midnight; 0..1439. Default 180 (03:00).
  std::int32_t close_minute_of_day = 180;

  Status validate() const;
  bool operator==(const DayConfig&) const = default;
};

struct BusinessDay {
  std::int32_t days_since_epoch = 0;  // the starting local date, days since 1970-01-01

  // "YYYY-MM-DD"; nullopt unless a real calendar date in 1970..9999.
  static std::optional<BusinessDay> parse(std::string_view text);
  std::string to_string() const;  // "2024-03-05"
  std::string compact() const;    // "20240305", for file names and record keys
  BusinessDay next() const { return {days_since_epoch + 1}; }
  auto operator<=>(const BusinessDay&) const = default;
};

BusinessDay business_day_of(EventTime time, const DayConfig& config);
// The first instant of `day`; the day ends just before day_start(day.next()).
EventTime day_start(BusinessDay day, const DayConfig& config);

// "2024-03-05T08:15:30.123456+08:00": local time with the configured offset,
// microseconds always present so the text has one width.
std::string format_local_time(EventTime time, const DayConfig& config);

}  // namespace citycard::settlement
