// `citycard report usage`: the city's usage figures over a range of business
// days, grouped by one or two axes, folded from the tap records
// (tap_records.h). One home for the arithmetic: the CLI, its formats
// (usage_report_format.h), the chart (usage_chart.h) and the tests all use
// add_to_usage_report(); read_usage_report() only walks the days.
//
// Figures of a group (docs/reports.md says the same for the city):
//   taps           decided taps (records of origin tap: approved + refused)
//   approved       of those, approved
//   refused        of those, refused (unknown, blocked, no money, ...)
//   identity       of those, mode identify (library, doors, meeting sign-in)
//   given_offline  later charges for rides a reader gave offline after an
//                  online refusal (records of origin service_given); the
//                  tap itself is already counted once, as refused
//   riders         distinct cards with an approved decision (any origin)
//   fare_minor     what riders paid from their wallets (the decisions' fares;
//                  all records, so it agrees with the ledger)
//   subsidy_minor  what the city paid operators for these taps
//   points_redeemed  welfare points riders spent
//
// Cost: one pass over the range's records, decoding each (O(taps)); memory
// is one set of card ids per group plus one for the total: about 64 bytes
// per (group, distinct card) pair, counted exactly (no estimate).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "hashing.h"
#include "ledger/ledger.h"
#include "tap_records.h"

namespace citycard::engine {

enum class UsageAxis : std::uint8_t { mode = 1, operator_id = 2, location = 3, hour = 4, category = 5 };

// "mode", "operator", "location", "hour", "category".
std::string_view usage_axis_name(UsageAxis axis) noexcept;
std::optional<UsageAxis> parse_usage_axis(std::string_view name) noexcept;

// A report's business days, from YYYY-MM-DD to YYYY-MM-DD inclusive: every
// report's one home for them. invalid_argument naming the problem for a bad
// date, from after to, or more than limits::report_days_max days.
struct ReportDays {
  std::int32_t from_day = 0;  // days since 1970-01-01, inclusive
  std::int32_t to_day = 0;
};
Result<ReportDays> report_days(std::string_view from, std::string_view to);

struct UsageQuery {
  std::int32_t from_day = 0;  // business days, days since 1970-01-01, inclusive
  std::int32_t to_day = 0;
  std::vector<UsageAxis> axes;          // one or two, distinct
  std::int32_t utc_offset_minutes = 0;  // the hour axis is the local hour (the rule set's offset)
};

// The query a command line asks for: dates YYYY-MM-DD, `by` one axis or two
// comma-separated ("mode,hour"). invalid_argument naming the problem for a
// bad date, from after to, more than limits::report_days_max days, an
// unknown, repeated or third axis.
Result<UsageQuery> usage_query(std::string_view from, std::string_view to, std::string_view by,
                               std::int32_t utc_offset_minutes);

struct UsageFigures {
  std::uint64_t taps = 0;
  std::uint64_t approved = 0;
  std::uint64_t refused = 0;
  std::uint64_t identity = 0;
  std::uint64_t given_offline = 0;
  std::unordered_set<CardId, CardIdHash> riders;  // distinct cards, exactly
  std::int64_t fare_minor = 0;
  std::int64_t subsidy_minor = 0;
  std::int64_t points_redeemed = 0;
};

// A group's value on each axis of the query (the second 0 with one axis):
// the mode, operator id, location, local hour 0..23 or category number
// (0: the card was unknown).
using UsageGroupKey = std::array<std::int64_t, 2>;

struct UsageReport {
  UsageQuery query;
  std::map<UsageGroupKey, UsageFigures> groups;  // in axis value order; only groups with records
  UsageFigures total;                            // all records of the range (riders: distinct over all)
};

// The value of `record` on `axis`.
std::int64_t usage_axis_value(const UsageQuery& query, UsageAxis axis, const RecordedTap& record);
// How a value reads: mode and category names, "07" for an hour, the number otherwise.
std::string usage_axis_label(UsageAxis axis, std::int64_t value);

// Folds one record into its group and the total. Pure: the report is the
// only state. Records of other origins than tap and service_given (none are
// written today) are checked out: a tap record is one of those two.
void add_to_usage_report(UsageReport& report, const RecordedTap& record);

// The report of `query` from the snapshot's tap records, day by day.
// corruption naming the key of a record that does not decode.
Result<UsageReport> read_usage_report(const ledger::Snapshot& snapshot, const UsageQuery& query);

}  // namespace citycard::engine
