// What the card office did to accounts and media (link, unlink, merge,
// replace), beside the money: how two accounts' rating states combine into
// one, and each medium's record of the accounts it spent from before, so
// that its history stays readable after it joins another account.
//
// A medium's moves: RecordSpace::engine, key "medium/" + card id bytes,
// value a JSON array, oldest first, of
//   {"ref": op:S:N, "time_us": n, "how": text, "account": hex (the primary
//    it joined; its own id: it became its own account again),
//    "former_wallet": n, "former_points": n (the accounts it left)}
// written in the posting group that moves it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "card_state.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/time.h"
#include "ledger/ledger.h"

namespace citycard::engine {

inline constexpr std::string_view medium_moves_prefix = "medium/";

struct MediumMove {
  std::string ref;
  EventTime time;
  std::string how;
  CardId account;
  AccountId former_wallet;
  AccountId former_points;
};

std::string medium_moves_key(const CardId& card);
std::string encode_medium_moves(const std::vector<MediumMove>& moves);
Result<std::vector<MediumMove>> decode_medium_moves(std::string_view value);
// The card's moves in the ledger; none if it never moved.
Result<std::vector<MediumMove>> load_medium_moves(const ledger::Ledger& ledger, const CardId& card);

// The rating state of an account that absorbs another (merge): one person,
// so one allotment and one cap.
// - Caps: the paid sums of the same business day (month) add up; the most
//   recent days (months) are kept, as rating keeps them.
// - Welfare points: the later allotment month of the two is kept, so a
//   month in which either account was allotted is not allotted again.
// - Visit counters of the same month add up; else the later month's are kept.
// - Transfer windows: the legs of both, the most recent kept.
// - Open journeys and rentals: the survivor's (merge refuses an absorbed
//   account with one open). Auto top-up: the survivor's.
rules::CardState combine_account_states(const rules::CardState& survivor, const rules::CardState& absorbed);

// "an open metro journey (since ...)" if the state has a journey or rental
// open; empty otherwise.
std::string open_journey_of(const rules::CardState& state);

}  // namespace citycard::engine
