// One operator's batch for one business day: the lines, their totals, and the
// text of the file that carries them to the clearing house. The grammar is at
// the top of batch_file.cpp and in docs/settlement-format.md.
#pragma once

#include <cstdint>
#include <functional>
#include <istream>
#include <string>
#include <string_view>

#include "business_day.h"
#include "citycard/ids.h"
#include "citycard/programme.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "citycard/time.h"

namespace citycard::settlement {

// One tap (one posting group) as it concerns one operator's payable.
struct BatchLine {
  std::string tap_id;                      // the group's key: "tap:17:123456"
  std::string card_token;                  // 32 hex digits; empty when no card took part
  EventTime event_time;                    // the tap's own time, also when late
  Mode mode = Mode::identify;
  std::uint32_t route = 0;
  std::uint32_t location = 0;
  std::int64_t rider_fare_minor = 0;       // fare + payment - fare_refund, TWD
  std::int64_t city_subsidy_minor = 0;     // city programmes but welfare points, TWD
  std::int64_t points_subsidy_minor = 0;   // the city paying for points used (welfare_points), TWD
  std::int64_t points_redeemed = 0;        // points the rider spent (asset points)
  std::int64_t other_minor = 0;            // reversals, adjustments, refunds; signed, TWD
  std::uint16_t flags = 0;                 // citycard::TransferFlag bits, late included
  // city_subsidy + points_subsidy by programme (not written per line: the
  // file's P records carry the batch's sums).
  ProgrammeAmounts programme_minor{};

  // What this line adds to the operator's payable, TWD.
  std::int64_t total_minor() const {
    return rider_fare_minor + city_subsidy_minor + points_subsidy_minor + other_minor;
  }
};

struct BatchTotals {
  std::uint64_t lines = 0;
  std::uint64_t late_lines = 0;
  std::int64_t rider_fare_minor = 0;
  std::int64_t city_subsidy_minor = 0;
  std::int64_t points_subsidy_minor = 0;
  std::int64_t points_redeemed = 0;
  std::int64_t other_minor = 0;
  std::int64_t total_minor = 0;
  ProgrammeAmounts programme_minor{};  // sums to city_subsidy + points_subsidy

  void add(const BatchLine& line);
  void add(const BatchTotals& other);
  bool operator==(const BatchTotals&) const = default;
};

struct BatchHeader {
  OperatorId operator_id;
  std::string operator_name;
  BusinessDay day;
  std::uint32_t sequence = 1;           // 1 at the close, +1 per resend after a rejection
  EventTime created_at;                 // the close's time, never the clock at regeneration
  EventTime period_start;               // the business day's first instant
  EventTime period_end;                 // the next day's first instant (exclusive)
  std::string rule_set_versions;        // distinct versions in the lines, ascending, ";"-separated
  std::string signing_key_id;
  std::string token_key_id;
};

std::string format_header(const BatchHeader& header, const DayConfig& config);
std::string format_line(std::uint64_t line_number, const BatchLine& line, const DayConfig& config);
// The P records (one per programme with a non-zero amount, programme order)
// and the T record.
std::string format_trailer(const BatchTotals& totals);
// "late|offline" (names of set flags in bit order), "" when none.
std::string format_flags(std::uint16_t flags);

// "CCSET_20240305_000017_01.csv"
std::string batch_file_name(BusinessDay day, OperatorId op, std::uint32_t sequence);

// What reading a file back found. Reading checks the grammar and the money
// rule (each line's total is the sum of its parts; the trailer equals the sum
// of the lines); a file that breaks either is reported as corruption.
struct BatchFileContents {
  std::int64_t operator_id = -1;
  std::string day;            // as written, "YYYY-MM-DD"
  std::uint32_t sequence = 0;
  std::string rule_set_versions;
  std::uint32_t format_version = 0;  // 1: no programme records; 2: P records
  BatchTotals totals;         // from the trailer, equal to the lines' sum; programmes from P records
};

// Reads `path`; `on_line` (optional) sees each line's number and tap id.
Result<BatchFileContents> read_batch_file(
    const std::string& path, const std::function<void(std::uint64_t, std::string_view)>& on_line = {});
// The same checks on a file already open (`name` only names it in errors).
Result<BatchFileContents> read_batch_file(
    std::istream& in, const std::string& name, const std::function<void(std::uint64_t, std::string_view)>& on_line = {});

}  // namespace citycard::settlement
