// A card's bonus points as the card holder sees them: the balance of its
// account's card_bonus_points and the month they expire at the end of
// (kept in the account's card state, engine/rules/bonus_points.h). One home
// for `citycard balance` on a stopped ledger and the admin API's balance.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "citycard/card.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

struct BonusBalance {
  bool has_account = false;       // false: a card issued before bonus points had an account
  std::int64_t points = 0;
  std::int32_t expiry_month = 0;  // local month key (year * 12 + month - 1); 0: no expiry
};

// Reads the card's bonus points account and its account's stored state (a
// state that cannot be read gives no expiry: rating would start it afresh).
Result<BonusBalance> bonus_balance_of(const ledger::Ledger& ledger, const CardRecord& card);

// "2027-12" for an expiry month key; "" for none.
std::string bonus_expiry_text(std::int32_t expiry_month);

// Adds "bonus_points" and, when they expire, "bonus_points_expire_after"
// ("YYYY-MM": valid to the end of that month) to a balance reply.
void add_bonus_balance(nlohmann::json& out, const BonusBalance& bonus);

}  // namespace citycard::engine
