// The points report (points_report.h) as people, programs and a picture read
// it. Rows are (month, category) in month then category-code order, then the
// total ("(all)").
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "points_report.h"

namespace citycard::engine {

// A share of the allotted cards in tenths of a percent, rounded half up:
// 614 for 61.4%. 0 when no card was allotted.
std::int64_t points_share_permille(std::uint64_t cards, std::uint64_t allotted_cards) noexcept;

// Two parts: the figures per row, then the distribution, one line per
// (month, category, bucket) with its cards, share and cumulative share (so
// "61.4% use under 100" is the 1-99 line's cumulative share).
std::string points_report_table(const PointsReport& report);

// {"from": "YYYY-MM", "to", "rows": [{"month", "category", "cards", "allotted_cards",
//  "allotted", "used", "expired", "rewarded", "other", "left",
//  "distribution": [{"bucket", "cards", "share_percent", "cumulative_share_percent"}]}],
//  "total": {...the same, month and category "(all)"}}
nlohmann::json points_report_json(const PointsReport& report);

// RFC 4180, CRLF: month,category,cards,allotted_cards,allotted,used,expired,
// rewarded,other,left,used_0,used_1_99,used_100_299,used_300_499,used_500_plus,
// used_all; one row per row, then the total with "(all)".
std::string points_report_csv(const PointsReport& report);

// A histogram of the distribution, one bar per (month, category, bucket) of
// the categories allotted points, coloured by bucket (bar_chart.h);
// `generated` printed as given.
std::string points_chart_html(const PointsReport& report, std::string_view generated);

}  // namespace citycard::engine
