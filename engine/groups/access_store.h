// Changing the access lists (docs/access.md): one home for the card
// office's changes, used by the engine's admin op access_change
// (engine/core/access_desk.h) and by `citycard access` on a stopped ledger.
// A change is a JSON object (the admin op's "change"), its specs written as
// on the command line:
//   {"action": "role_add",       "name": N, "cards": [CARD...]}   new role, or more members
//   {"action": "role_remove",    "name": N, "cards": [CARD...]}   members; no cards: the role
//   {"action": "group_add",      "name": N, "doors": [POINT...], "admit": [ADMIT...]}
//   {"action": "group_remove",   "name": N}
//   {"action": "meeting_add",    "name": N, "room": POINT, "from": LOCAL, "to": LOCAL, "invite": [WHO...]}
//   {"action": "meeting_remove", "name": N}
//   {"action": "invite" | "uninvite", "name": MEETING, "invite": [WHO...]}
// POINT  := OPERATOR/LOCATION (a place of an operator of kind door, or
//           meeting for a room) | reader:ID (a registered reader)
// ADMIT  := WHO[@WINDOW[,WINDOW...]]     WHO := category:NAME | card:HEX | role:NAME
// WINDOW := DAYS/HH:MM-HH:MM   DAYS := mon..sun, a range mon-fri, or daily
// LOCAL  := YYYY-MM-DDTHH:MM, local time of the rule set's UTC offset
// A change that is not valid is refused (invalid_argument, not_found,
// already_exists) naming the problem; nothing is written.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "access_codec.h"
#include "citycard/status.h"
#include "ledger/ledger.h"
#include "office_import.h"
#include "rule_set.h"

namespace citycard::engine {

// What a change is checked against.
struct AccessWorld {
  const rules::RuleSet* rule_set = nullptr;             // operators and their kinds; the UTC offset
  std::function<bool(ReaderId)> reader_registered;      // reader:ID points
  std::function<bool(const CardId&)> card_issued;       // named and invited cards
};

struct AccessPlan {
  rules::AccessLists after;
  std::vector<ledger::RecordWrite> writes;  // the one record put or erased
  std::string action;                       // "access group add", ... (the audit entry's)
  std::string detail;                       // what changed, in words
};

Result<AccessPlan> plan_access_change(const rules::AccessLists& lists, const nlohmann::json& change,
                                      const AccessWorld& world);

// The plan's record and its audit entry in one write.
Status write_access_change(ledger::Ledger& ledger, const AccessPlan& plan, const OfficeActor& actor);

// {"roles": [{"name", "cards": [...]}], "groups": [{"name", "doors": [POINT],
//  "admit": [ADMIT]}], "meetings": [{"name", "room", "from", "to", "invite": [WHO]}]}
nlohmann::json access_lists_json(const rules::AccessLists& lists);

// The specs' text forms, parsed and printed (the CLI and the reports share them).
Result<rules::AccessPoint> parse_access_point(std::string_view text);
std::string access_point_text(const rules::AccessPoint& point);
Result<rules::LocalMinute> parse_local_minute(std::string_view text);
std::string local_minute_text(rules::LocalMinute minute);
std::string admit_text(const rules::Admit& admit);

}  // namespace citycard::engine
