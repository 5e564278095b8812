// The usage report (usage_report.h) as people and programs read it. Every
// format lists the same figures in the same order (usage_figure_names), one
// row per group in axis value order, then the total.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "usage_report.h"

namespace citycard::engine {

// taps, approved, refused, identity, given_offline, riders, fare_minor,
// subsidy_minor, points_redeemed.
inline constexpr std::array<std::string_view, 9> usage_figure_names = {
    "taps", "approved", "refused", "identity", "given_offline", "riders", "fare_minor", "subsidy_minor", "points_redeemed"};

// {"from": "YYYY-MM-DD", "to": ..., "by": ["mode", ...], "groups": [{"mode": "bus_board",
//  <figures>}, ...], "total": {<figures>}}. Axis values are labels
// (usage_axis_label): names for mode and category, numbers for operator and
// location, "07" for an hour.
nlohmann::json usage_report_json(const UsageReport& report);

// RFC 4180: a header row (the axes, then the figures), one row per group,
// then the total with "(all)" in every axis column; CRLF line ends, a field
// with a comma, quote or line break in quotes with quotes doubled.
std::string usage_report_csv(const UsageReport& report);

// A table for a terminal: a title line with the range, columns aligned.
std::string usage_report_table(const UsageReport& report);

// One CSV field, quoted when RFC 4180 says it must be.
std::string csv_field(std::string_view text);

}  // namespace citycard::engine
