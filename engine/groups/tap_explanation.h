// "Why was I charged this?" on a real recorded tap (`citycard explain --tap
// READER:SEQUENCE`): the tap's record (tap_records.h) is found, the account's
// state just before it is rebuilt, and the tap is rated again with the rule
// set version that rated it, step by step (rules::explain_notes, the same
// sentences as `rules explain`). The answer is then compared with what the
// ledger holds for the tap: its record's fare and any correction the close
// posted (rpt:R:S, repricing.h). A replay that does not give the ledger's
// fare says so; it never claims an agreement it did not find.
//
// Which state, which order (account_replay.h is the replay both use):
// - A day the close has repriced (the account's canonical "s" state ended on
//   or after it): the canonical order is event order and the answer is the
//   repriced fare. The replay opens on the state the close opened the
//   account on that day ("o" records, kept per repriced day and account
//   for as long as the day's tap records keep their card) and rates the
//   day's approved taps in event order with the version in force at each
//   tap's time, as the close did. A day closed before those records were
//   kept cannot be replayed: an error says so and gives the ledger's money.
// - A day not yet closed: the engine rated in arrival order, so the replay
//   opens on the account's canonical state (the end of its last repriced
//   day; a fresh card when it has none, from the first day repricing or the
//   tap records cover) and rates the account's approved taps of every day
//   after it up to the tap in arrival order, each with the version that
//   rated it. The close may still reprice it: the answer says so.
// Taps of a closed day that arrived after its close were not in the close's
// replay but are in this one (the records do not say which arrived late):
// the replay may then differ from the ledger, and says so.
//
// Reads one snapshot; finding the record costs one key lookup per business
// day held in the tap records, the replay one scan of the days it covers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "citycard/ids.h"
#include "citycard/status.h"
#include "ledger/ledger.h"
#include "rule_book.h"
#include "tap_records.h"

namespace citycard::engine {

// "17:5", or a key history shows for it: tap:17:5, svc:17:5, rpt:17:5, rps:17:5.
std::optional<TapId> parse_explained_tap(std::string_view text);

enum class ReplayOrder : std::uint8_t { arrival, event };

struct TapExplanation {
  RecordedTap record;            // the record explained: the tap's own, or the service-given one made for it
  std::string tap_text;          // rules::describe_tap
  std::string local_time;        // the tap's event time in the city's time
  bool refused = false;          // a refused tap: `refusal` says why; nothing is replayed
  std::string refusal;

  // The replay (an approved tap).
  ReplayOrder order = ReplayOrder::arrival;
  bool day_closed = false;               // the close of the tap's day repriced it
  std::int32_t opened_on_day = 0;        // the replay opened on the state at the start of this day
  bool opened_fresh = false;             // on a fresh card (no canonical state)
  std::uint64_t taps_before = 0;         // the account's taps replayed before this one
  // A closed day's taps that arrived after its close: not in the close's
  // replay (late lines of a later close), so not in this one.
  std::uint64_t taps_after_close = 0;
  bool arrived_after_close = false;      // this tap is one of them: not replayed, it keeps its arrival fare
  std::uint32_t rule_set_version = 0;    // the version the replay rated it with
  std::vector<std::string> steps;        // rules::explain_notes
  bool replay_approved = false;
  std::string replay_refusal;            // when the replay would refuse it
  std::int64_t replay_fare_minor = 0;
  std::int64_t replay_subsidy_minor = 0;
  std::int64_t replay_points = 0;

  // The ledger.
  std::int64_t charged_fare_minor = 0;      // on arrival (the record's fare)
  std::int64_t charged_subsidy_minor = 0;
  std::int64_t charged_points = 0;
  std::string correction_key;               // rpt:R:S / rps:R:S when the close posted one
  std::int64_t correction_fare_minor = 0;   // what the correction took from the wallet (negative: gave back)
  std::int64_t correction_points = 0;
  std::int64_t ledger_fare_minor = 0;       // charged + correction

  bool agrees = false;                   // the replay's fare (and points) equal the ledger's
  std::vector<std::string> remarks;      // plain sentences: repricing, disagreements, versions
};

// The explanation of tap `tap` from `snapshot`. Errors: not_found (no record
// of that tap: never decided, or deleted by the records' retention),
// refused (the record was anonymised: no card to replay; the card's
// account moved since, by link, unlink or merge; a closed day whose opening
// state was not kept), not_found naming a rule set version the ledger does
// not hold, corruption naming a damaged record.
Result<TapExplanation> explain_recorded_tap(const ledger::Snapshot& snapshot, const rules::RuleBook& rules, TapId tap);

// {"tap", "origin", "card", "business_day", "time", "description", "outcome",
//  "refusal"?, "arrived_after_close"?, "replay": {"order", "day_closed", "opened_on", "opened_fresh",
//  "taps_before", "taps_after_close", "rule_set_version", "steps", "approved", "refusal"?,
//  "fare_minor", "subsidy_minor", "points"}, "ledger": {"charged_fare_minor",
//  "charged_subsidy_minor", "charged_points", "correction", "correction_fare_minor",
//  "correction_points", "fare_minor"}, "agrees", "remarks"}; "replay" is null
//  for a tap that arrived after its day closed (arrived_after_close).
nlohmann::json tap_explanation_json(const TapExplanation& explanation);
// The same as lines for a clerk.
std::vector<std::string> tap_explanation_lines(const TapExplanation& explanation);

}  // namespace citycard::engine
