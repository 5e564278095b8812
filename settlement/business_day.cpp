// Calendar arithmetic after Howard Hinnant's "chrono-Compatible Low-Level Date
// Algorithms" (days_from_civil / civil_from_days): exact for the proleptic
// Gregorian calendar, no tables, no time zone database.
#include "business_day.h"

#include <cstdio>

namespace citycard::settlement {
namespace {

struct Civil {
  std::int64_t year;
  unsigned month;  // 1..12
  unsigned day;    // 1..31
};

std::int64_t floor_div(std::int64_t value, std::int64_t divisor) {
  std::int64_t quotient = value / divisor;
  if ((value % divisor != 0) && ((value < 0) != (divisor < 0))) --quotient;
  return quotient;
}

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = floor_div(year, 400);
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

Civil civil_from_days(std::int64_t days) {
  days += 719468;
  const std::int64_t era = floor_div(days, 146097);
  const auto day_of_era = static_cast<unsigned>(days - era * 146097);
  const unsigned year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const unsigned day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const unsigned mp = (5 * day_of_year + 2) / 153;
  const unsigned day = day_of_year - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t year = static_cast<std::int64_t>(year_of_era) + era * 400 + (month <= 2 ? 1 : 0);
  return {year, month, day};
}

std::int64_t local_shift_us(const DayConfig& config) {
  return static_cast<std::int64_t>(config.utc_offset_minutes) * us_per_minute -
         static_cast<std::int64_t>(config.close_minute_of_day) * us_per_minute;
}

}  // namespace

Status DayConfig::validate() const {
  if (utc_offset_minutes < -840 || utc_offset_minutes > 840)
    return Status::invalid_argument("utc offset must be within -14:00..+14:00");
  if (close_minute_of_day < 0 || close_minute_of_day >= 1440)
    return Status::invalid_argument("close time must be within 00:00..23:59");
  return Status::ok();
}

std::optional<BusinessDay> BusinessDay::parse(std::string_view text) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t count, unsigned& out) {
    out = 0;
    for (std::size_t i = at; i < at + count; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + static_cast<unsigned>(text[i] - '0');
    }
    return true;
  };
  unsigned year = 0, month = 0, day = 0;
  if (!number(0, 4, year) || !number(5, 2, month) || !number(8, 2, day)) return std::nullopt;
  if (year < 1970 || month < 1 || month > 12 || day < 1) return std::nullopt;
  std::int64_t days = days_from_civil(year, month, day);
  Civil back = civil_from_days(days);  // rejects 02-30 and friends
  if (back.month != month || back.day != day) return std::nullopt;
  return BusinessDay{static_cast<std::int32_t>(days)};
}

std::string BusinessDay::to_string() const {
  Civil civil = civil_from_days(days_since_epoch);
  char text[16];
  std::snprintf(text, sizeof text, "%04lld-%02u-%02u", static_cast<long long>(civil.year), civil.month, civil.day);
  return text;
}

std::string BusinessDay::compact() const {
  Civil civil = civil_from_days(days_since_epoch);
  char text[16];
  std::snprintf(text, sizeof text, "%04lld%02u%02u", static_cast<long long>(civil.year), civil.month, civil.day);
  return text;
}

BusinessDay business_day_of(EventTime time, const DayConfig& config) {
  return {static_cast<std::int32_t>(floor_div(time.unix_us + local_shift_us(config), us_per_day))};
}

EventTime day_start(BusinessDay day, const DayConfig& config) {
  return {static_cast<std::int64_t>(day.days_since_epoch) * us_per_day - local_shift_us(config)};
}

std::string format_local_time(EventTime time, const DayConfig& config) {
  const std::int64_t local_us = time.unix_us + static_cast<std::int64_t>(config.utc_offset_minutes) * us_per_minute;
  const std::int64_t days = floor_div(local_us, us_per_day);
  const std::int64_t in_day_us = local_us - days * us_per_day;
  Civil civil = civil_from_days(days);
  const std::int64_t seconds = in_day_us / us_per_second;
  const std::int64_t micros = in_day_us % us_per_second;
  const int offset = config.utc_offset_minutes;
  const int offset_abs = offset < 0 ? -offset : offset;
  char text[96];
  std::snprintf(text, sizeof text, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%06lld%c%02d:%02d",
                static_cast<long long>(civil.year), civil.month, civil.day, static_cast<long long>(seconds / 3600),
                static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60),
                static_cast<long long>(micros), offset < 0 ? '-' : '+', offset_abs / 60, offset_abs % 60);
  return text;
}

}  // namespace citycard::settlement
