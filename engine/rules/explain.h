// Rating explanations for a clerk ("why was I charged this?") and compact
// one-line names of postings. Allocates; not for the hot path.
#pragma once

#include <string>
#include <vector>

#include "rating.h"

namespace citycard::rules {

// "bus_board at 2025-03-03 07:45 (+08:00), operator 101 Capital Bus, route 307, stop 12"
std::string describe_tap(const RuleSet& rule_set, const Tap& tap);
// One sentence per note, in order.
std::vector<std::string> explain_notes(const RuleSet& rule_set, const CardState& before, const Rating& rating);
// "card_wallet -> operator_payable 101: 15 TWD fare [offline]"
std::string describe_posting(const Posting& posting);
// "approved: 15 TWD from the wallet; balance 185 TWD, 0 points" / "refused: insufficient_balance"
std::string summarize_rating(const Rating& rating);
// "2025-03-03 07:45:00" in the rule set's local time.
std::string local_time_text(const RuleSet& rule_set, EventTime time);

}  // namespace citycard::rules
