// `citycard report programmes`: what each city programme (citycard/programme.h)
// paid each operator per business day, read from the ledger's transfers on a
// snapshot (read-only, while the engine runs).
//
// A transfer counts when its code is a programme's and it moves an operator's
// payable: + into the payable (the programme paid), - out of it (a refund to
// the programme). Its day is the business day of its event time (the tap's),
// computed with the rule set's calendar. The settlement file of a day shows
// the same sums per operator, except for late taps: a file carries a tap that
// arrived after its day closed (flag late) in the next close's file, where
// this report keeps it on its own day (docs/reports.md).
//
// Cost: one pass over the whole transfer log (no index by event day), O(ledger);
// memory is one amount per (day, operator, programme) that moved.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

#include "citycard/programme.h"
#include "citycard/status.h"
#include "ledger/ledger.h"
#include "usage_report.h"

namespace citycard::engine {

struct ProgrammeQuery {
  ReportDays days;
  std::int32_t utc_offset_minutes = 0;          // the rule set's calendar
  std::int32_t business_day_start_minutes = 0;
};

// (business day, operator id, programme) -> amount paid, TWD minor units. Only
// non-zero sums are kept.
using ProgrammeKey = std::tuple<std::int32_t, std::uint32_t, Programme>;
struct ProgrammeReport {
  ProgrammeQuery query;
  std::map<ProgrammeKey, std::int64_t> paid_minor;
  ProgrammeAmounts total_minor{};                 // per programme, all days and operators
  std::int64_t all_minor = 0;                     // every programme, day and operator
  std::map<std::uint32_t, std::string> operator_names;
  std::uint64_t transfers_scanned = 0;
};

Result<ProgrammeReport> read_programme_report(const ledger::Snapshot& snapshot, const ProgrammeQuery& query);

// The three forms: a table, JSON ({"rows":[...],"totals":{...},"total_minor":N})
// and CSV (day,operator,operator_name,programme,amount_minor).
std::string programme_report_table(const ProgrammeReport& report);
std::string programme_report_json(const ProgrammeReport& report);
std::string programme_report_csv(const ProgrammeReport& report);

}  // namespace citycard::engine
