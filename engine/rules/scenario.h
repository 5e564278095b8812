// A scenario: a card's starting state and a list of taps, written in TOML for
// `citycard rules explain` and for tests. docs/rules.md shows the format.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "card_state.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "rule_set.h"

namespace citycard::rules {

struct Scenario {
  CardState card;
  std::vector<Tap> taps;
};

// Times without an offset are local to the rule set. Errors list every
// problem as "FILE:LINE: field: message", one per line.
Result<Scenario> parse_scenario(std::string_view toml_text, const std::string& file_name, const RuleSet& rule_set);
Result<Scenario> load_scenario_file(const std::string& path, const RuleSet& rule_set);

// Inline forms for the command line: the body of a TOML inline table,
// e.g. `category = "student", wallet_minor = 200` and
// `time = 2025-03-03T07:45:00, mode = "bus_board", operator = 101, route = 307`.
Result<CardState> parse_card_state_inline(std::string_view text);
Result<Tap> parse_tap_inline(std::string_view text, const RuleSet& rule_set, std::uint64_t sequence);

}  // namespace citycard::rules
