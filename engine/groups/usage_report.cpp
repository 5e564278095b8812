#include "usage_report.h"

#include <fmt/format.h>

#include "calendar.h"
#include "citycard/check.h"
#include "citycard/limits.h"
#include "rule_set_loader.h"

namespace citycard::engine {
namespace {

constexpr std::array<UsageAxis, 5> all_axes = {UsageAxis::mode, UsageAxis::operator_id, UsageAxis::location,
                                               UsageAxis::hour, UsageAxis::category};

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) out += fmt::format("{:02x}", byte);
  return out;
}

void add_figures(UsageFigures& figures, const RecordedTap& record) {
  const bool approved = record.outcome == protocol::Outcome::approved;
  if (record.origin == Origin::tap) {
    ++figures.taps;
    ++(approved ? figures.approved : figures.refused);
    if (record.tap.mode == Mode::identify) ++figures.identity;
  } else {
    ++figures.given_offline;
  }
  // A refused tap is no ride: an unknown or blocked card is not a rider.
  if (approved) figures.riders.insert(record.tap.card);
  figures.fare_minor += record.fare_minor;
  figures.subsidy_minor += record.subsidy_minor;
  figures.points_redeemed += record.points_redeemed;
}

}  // namespace

std::string_view usage_axis_name(UsageAxis axis) noexcept {
  switch (axis) {
    case UsageAxis::mode: return "mode";
    case UsageAxis::operator_id: return "operator";
    case UsageAxis::location: return "location";
    case UsageAxis::hour: return "hour";
    case UsageAxis::category: return "category";
  }
  return "?";
}

std::optional<UsageAxis> parse_usage_axis(std::string_view name) noexcept {
  for (UsageAxis axis : all_axes) {
    if (usage_axis_name(axis) == name) return axis;
  }
  return std::nullopt;
}

Result<ReportDays> report_days(std::string_view from, std::string_view to) {
  auto from_day = rules::parse_date_days(from);
  if (!from_day) return Status::invalid_argument(fmt::format("--from {} is not a date YYYY-MM-DD", from));
  auto to_day = rules::parse_date_days(to);
  if (!to_day) return Status::invalid_argument(fmt::format("--to {} is not a date YYYY-MM-DD", to));
  if (*from_day > *to_day) return Status::invalid_argument(fmt::format("--from {} is after --to {}", from, to));
  const std::int64_t days = std::int64_t{*to_day} - *from_day + 1;
  if (days > limits::report_days_max) {
    return Status::invalid_argument(fmt::format("{} to {} is {} days; a report covers at most {}", from, to, days,
                                                limits::report_days_max));
  }
  return ReportDays{*from_day, *to_day};
}

Result<UsageQuery> usage_query(std::string_view from, std::string_view to, std::string_view by,
                               std::int32_t utc_offset_minutes) {
  UsageQuery query;
  query.utc_offset_minutes = utc_offset_minutes;
  auto days = report_days(from, to);
  if (!days) return days.status();
  query.from_day = days->from_day;
  query.to_day = days->to_day;
  std::string_view rest = by;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view name = rest.substr(0, comma);
    auto axis = parse_usage_axis(name);
    if (!axis) {
      return Status::invalid_argument(
          fmt::format("--by {}: unknown axis '{}' (mode, operator, location, hour or category)", by, name));
    }
    for (UsageAxis seen : query.axes) {
      if (seen == *axis) return Status::invalid_argument(fmt::format("--by {}: axis {} twice", by, name));
    }
    query.axes.push_back(*axis);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  if (query.axes.size() > 2) return Status::invalid_argument(fmt::format("--by {}: at most two axes", by));
  return query;
}

std::int64_t usage_axis_value(const UsageQuery& query, UsageAxis axis, const RecordedTap& record) {
  switch (axis) {
    case UsageAxis::mode: return static_cast<std::int64_t>(record.tap.mode);
    case UsageAxis::operator_id: return record.tap.operator_id.value;
    case UsageAxis::location: return record.tap.location;
    case UsageAxis::hour: {
      // Only the offset matters for the hour of the day, not the business day's start.
      const rules::LocalCalendar calendar(query.utc_offset_minutes, 0);
      return calendar.local_minute_of_day(record.tap.event_time) / 60;
    }
    case UsageAxis::category: return record.category;
  }
  CITYCARD_CHECK(false);  // every axis is named above
  return 0;
}

std::string usage_axis_label(UsageAxis axis, std::int64_t value) {
  switch (axis) {
    case UsageAxis::mode: return std::string(mode_name(static_cast<Mode>(value)));
    case UsageAxis::hour: return fmt::format("{:02}", value);
    case UsageAxis::category:
      return value == 0 ? std::string("unknown") : std::string(rider_category_name(static_cast<RiderCategory>(value)));
    case UsageAxis::operator_id:
    case UsageAxis::location: return std::to_string(value);
  }
  return std::to_string(value);
}

void add_to_usage_report(UsageReport& report, const RecordedTap& record) {
  // Tap records hold a reader's tap or its service-given charge, nothing else (tap_records.h).
  CITYCARD_CHECK(record.origin == Origin::tap || record.origin == Origin::service_given);
  const auto& axes = report.query.axes;
  CITYCARD_CHECK(axes.size() == 1 || axes.size() == 2);
  UsageGroupKey key{usage_axis_value(report.query, axes[0], record),
                    axes.size() == 2 ? usage_axis_value(report.query, axes[1], record) : 0};
  add_figures(report.groups[key], record);
  add_figures(report.total, record);
}

Result<UsageReport> read_usage_report(const ledger::Snapshot& snapshot, const UsageQuery& query) {
  CITYCARD_CHECK_LE(query.from_day, query.to_day);
  UsageReport report;
  report.query = query;
  Status failed = Status::ok();
  for (std::int64_t day = query.from_day; day <= query.to_day; ++day) {
    Status scanned = snapshot.scan_records(
        ledger::RecordSpace::tap_records, tap_records_day_begin(static_cast<std::int32_t>(day)),
        [&](std::string_view key, std::string_view value) {
          auto record = decode_recorded_tap(key, value);
          if (!record) {
            failed = Status::corruption(fmt::format("{} (key {})", record.status().message(), hex(key)));
            return false;
          }
          add_to_usage_report(report, *record);
          return true;
        });
    if (!scanned) return scanned;
    if (!failed) return failed;
  }
  return report;
}

}  // namespace citycard::engine
