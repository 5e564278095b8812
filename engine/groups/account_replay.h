// Rating an account's recorded taps again: the one replay the close's
// repricing (repricing.h) and "why was I charged this?" (tap_explanation.h)
// both run, so an explanation rates a tap exactly as the close rated it.
//
// A replayed tap is rated with the card's category on the tap's business
// day and a wallet taken as unlimited (a balance refusal or an auto top-up
// belonged to the arrival order, not to the tap's price); the state moves on
// only when the replay approves the tap.
//
// Records of RecordSpace::reprice read and written here:
//   "s" account key card bytes -> day:i32 BE (+2^31), encoded CardState
//       the canonical state: the end of the account's last repriced day
//   "o" day:u32 BE (+2^31) account key card bytes -> 0xFF taps:u32 BE, encoded CardState
//       the state the close of that day opened the account's replay on, and
//       how many of the account's taps it replayed, for each account it
//       replayed (so a closed day can be explained without the taps that
//       arrived after the close). A value without the 0xFF tag (no card
//       state version is 0xFF) is the state alone, written before the count was.
//       Day first, so that one day's opening states are one range, pruned
//       with that day's tap records (tap_retention.h). Cost: one record per
//       account with approved taps per repriced day, about 20 bytes of key
//       (a 7-byte UID) and 40-120 bytes of state (more with open journeys
//       and leg memories): for a city of 1M riders a day, ~100 MB a day
//       before compression, about what one day's tap records take.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "card_state.h"
#include "citycard/card.h"
#include "citycard/status.h"
#include "ledger/ledger.h"
#include "rating.h"
#include "rule_book.h"
#include "tap_records.h"

namespace citycard::engine {

// Replayed with this much in the wallet (see above).
inline constexpr std::int64_t replay_wallet_minor = 1'000'000'000'000;

// An account's canonical state ("s"): the day it ended and the state.
struct CanonicalState {
  std::int32_t ended_day = 0;
  rules::CardState state;
};
// nullopt when the account has none; corruption naming the account.
Result<std::optional<CanonicalState>> read_canonical_state(const ledger::Snapshot& snapshot, const CardId& account_card);
ledger::RecordWrite canonical_state_write(const CardId& account_card, std::int32_t day, rules::CardState state);

// The opening state of the account's replay of `day` ("o"), when kept.
struct OpeningState {
  rules::CardState state;
  // The account's approved taps of the day the close replayed; nullopt for a
  // record written before the count was kept.
  std::optional<std::uint32_t> taps_replayed;
};
Result<std::optional<OpeningState>> read_opening_state(const ledger::Snapshot& snapshot, std::int32_t day,
                                                       const CardId& account_card);
ledger::RecordWrite opening_state_write(std::int32_t day, const CardId& account_card, const rules::CardState& state,
                                        std::uint32_t taps_replayed);
// The key prefix of one day's opening states, and of those of every day before `day`.
std::string opening_states_day_prefix(std::int32_t day);
std::string opening_states_prefix();

// `state` (an "s" state, or a fresh one) ready to rate the account's taps:
// its media and status are the account's now.
rules::CardState replay_start(const CardRecord& account, rules::CardState state);

// The orders a day's taps are rated in: event order (the close's canonical
// order, ties by reader and sequence) and arrival order (the engine's, as it
// received them; a record with no arrival time counts at its event time).
// The taps of one batch share their arrival time and are taken in the
// reader's sequence order, as the engine took them; two readers' batches
// arriving in the same microsecond are taken by reader id (the records do
// not say which the engine rated first).
void sort_in_event_order(std::vector<RecordedTap>& taps);
void sort_in_arrival_order(std::vector<RecordedTap>& taps);

// One tap rated again on `state` (which moves on if the replay approves it).
struct ReplayedTap {
  rules::CardState before;  // the state it was rated on (wallet: replay_wallet_minor)
  rules::Rating rating;
};
ReplayedTap replay_tap(const rules::RuleSet& rule_set, const CardRecord& account, std::int32_t business_day,
                       rules::CardState& state, const Tap& tap);

}  // namespace citycard::engine
