// Local calendar arithmetic for rating: business days, months, weekdays and
// minutes of the day, from an event time and the rule set's fixed UTC offset.
// Pure integer arithmetic (Howard Hinnant's civil_from_days), no tz database.
#pragma once

#include <cstdint>

#include "citycard/time.h"

namespace citycard::rules {

struct CivilDate {
  std::int32_t year = 1970;
  std::int32_t month = 1;  // 1..12
  std::int32_t day = 1;    // 1..31
};

constexpr std::int64_t floor_div(std::int64_t value, std::int64_t divisor) noexcept {
  std::int64_t quotient = value / divisor;
  return (value % divisor != 0 && ((value < 0) != (divisor < 0))) ? quotient - 1 : quotient;
}

constexpr CivilDate civil_from_days(std::int64_t days_since_epoch) noexcept {
  const std::int64_t z = days_since_epoch + 719468;
  const std::int64_t era = floor_div(z, 146097);
  const std::int64_t day_of_era = z - era * 146097;
  const std::int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const std::int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const std::int64_t mp = (5 * day_of_year + 2) / 153;
  const std::int64_t day = day_of_year - (153 * mp + 2) / 5 + 1;
  const std::int64_t month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = year_of_era + era * 400 + (month <= 2 ? 1 : 0);
  return {static_cast<std::int32_t>(year), static_cast<std::int32_t>(month), static_cast<std::int32_t>(day)};
}

constexpr std::int64_t days_from_civil(std::int32_t year, std::int32_t month, std::int32_t day) noexcept {
  const std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2 ? 1 : 0);
  const std::int64_t era = floor_div(y, 400);
  const std::int64_t year_of_era = y - era * 400;
  const std::int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const std::int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

// A month as one number: year * 12 + (month - 1). Never 0 for real dates.
constexpr std::int32_t month_key(const CivilDate& date) noexcept { return date.year * 12 + (date.month - 1); }

class LocalCalendar {
 public:
  constexpr LocalCalendar(std::int32_t utc_offset_minutes, std::int32_t business_day_start_minutes) noexcept
      : offset_us_(utc_offset_minutes * us_per_minute), day_start_us_(business_day_start_minutes * us_per_minute) {}

  // Days since 1970-01-01 of the local calendar date.
  constexpr std::int64_t local_day(EventTime time) const noexcept { return floor_div(time.unix_us + offset_us_, us_per_day); }
  // The business day a time belongs to (a day runs from the configured start, e.g. 03:00).
  constexpr std::int32_t business_day(EventTime time) const noexcept {
    return static_cast<std::int32_t>(floor_div(time.unix_us + offset_us_ - day_start_us_, us_per_day));
  }
  constexpr std::int32_t business_month(EventTime time) const noexcept { return month_key(civil_from_days(business_day(time))); }
  // Calendar month of the local date (points expire at local midnight of the 1st).
  constexpr std::int32_t local_month(EventTime time) const noexcept { return month_key(civil_from_days(local_day(time))); }
  // 0 = Monday ... 6 = Sunday.
  constexpr std::int32_t local_weekday(EventTime time) const noexcept {
    return static_cast<std::int32_t>(floor_div(local_day(time) + 3, 7) * -7 + local_day(time) + 3);
  }
  constexpr std::int32_t local_minute_of_day(EventTime time) const noexcept {
    const std::int64_t local_us = time.unix_us + offset_us_;
    return static_cast<std::int32_t>((local_us - floor_div(local_us, us_per_day) * us_per_day) / us_per_minute);
  }

 private:
  std::int64_t offset_us_;
  std::int64_t day_start_us_;
};

static_assert(civil_from_days(0).year == 1970 && civil_from_days(0).month == 1 && civil_from_days(0).day == 1);
static_assert(days_from_civil(2025, 3, 1) == 20148);
static_assert(civil_from_days(days_from_civil(2024, 2, 29)).day == 29);
// 1970-01-01 was a Thursday.
static_assert(LocalCalendar(0, 0).local_weekday(EventTime{0}) == 3);

}  // namespace citycard::rules
