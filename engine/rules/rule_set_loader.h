// Loading a rule set from TOML. Loading validates everything (types, ranges,
// references, GTFS constraints, unknown fields) and reports every problem
// with file, line and field, not only the first. docs/rules.md describes the
// file format.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "citycard/status.h"
#include "rule_problem.h"
#include "rule_set.h"

namespace citycard::rules {

struct RuleSetLoad {
  std::optional<RuleSet> rule_set;      // set only when there are no problems
  std::vector<RuleProblem> problems;
  bool ok() const { return rule_set.has_value(); }
};

// `file_name` is only used in problem reports.
RuleSetLoad parse_rule_set(std::string_view toml_text, const std::string& file_name);
// Reads the file; a missing or unreadable file is one problem at line 0.
RuleSetLoad load_rule_set_file(const std::string& path);
// The same, as a Result: invalid_argument with every problem, one per line.
Result<RuleSet> load_rule_set(const std::string& path);

// "+08:00" -> 480; "03:00" -> 180 (used by the scenario loader too).
std::optional<std::int32_t> parse_utc_offset_minutes(std::string_view text);
std::optional<std::int32_t> parse_clock_minutes(std::string_view text);
// "2027-01-01" -> days since 1970-01-01 (a real date from 1970 on), and back.
std::optional<std::int32_t> parse_date_days(std::string_view text);
std::string format_date_days(std::int32_t days);

}  // namespace citycard::rules
