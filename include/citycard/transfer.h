// Transfers: the only thing that moves value. Each moves a positive amount of
// one asset from a debit account (its balance goes down) to a credit account
// (its balance goes up), so the balances of one asset always sum to zero.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "citycard/ids.h"
#include "citycard/money.h"
#include "citycard/tap.h"
#include "citycard/time.h"

namespace citycard {

// Why value moved. Stable numbers: they are stored.
enum class TransferCode : std::uint16_t {
  fare = 1,              // rider pays an operator for a ride or entry
  subsidy = 2,           // city pays an operator (discount, second fare unit, cap)
  points_redeemed = 3,   // rider spends points
  points_subsidy = 4,    // city pays an operator for points redeemed
  points_allotment = 5,  // monthly senior/disability allotment
  points_expired = 6,    // month-end expiry
  points_reward = 7,     // usage or shop reward
  payment = 8,           // device-given amount (parking, fee, shop)
  top_up = 9,            // cash top-up
  auto_top_up = 10,      // from the co-branded credit card
  fare_refund = 11,      // metro exit refund of a held maximum fare
  refund = 12,           // card office refund
  balance_move = 13,     // replacement card takes over a balance
  reversal = 14,         // correction of an earlier transfer
  adjustment = 15,       // operator correction
  settlement = 16,       // payable moved to settled after clearing
  // City programmes (citycard/programme.h): the city pays an operator from the
  // programme's own budget; the reverse direction (payable -> budget) is a
  // refund to that programme (a metro exit below the held fare). Ledgers
  // written before programmes carry `subsidy` and `points_subsidy` only.
  subsidy_buy_one_get_one = 17,    // the second and later fare units of a segment bus ride
  subsidy_category_fare = 18,      // a category's price below the general fare (student, senior, ...)
  subsidy_citizen_discount = 19,   // a city-funded percentage discount
  subsidy_transfer_discount = 20,  // a transfer's price below the leg's own price
  subsidy_fare_cap = 21,           // the rider's price above a daily / monthly cap
  subsidy_railway = 22,            // points spent on a railway trip, paid to the railway
  subsidy_bonus_points = 23,       // bonus points spent at a partner shop, paid to the shop
  // Bonus points (points asset) on a card's card_bonus_points account, apart
  // from welfare points' codes: issued from points_budget, spent or expired
  // into points_redeemed (docs/rules.md "Bonus points").
  bonus_points_earned = 24,        // a partner shop's bonus or the co-branded card's cashback
  bonus_points_redeemed = 25,      // spent at a partner shop
  bonus_points_expired = 26,       // the balance's expiry month has passed
};
inline constexpr int transfer_code_max = 26;

// Bit flags on a transfer.
enum TransferFlag : std::uint16_t {
  transfer_flag_none = 0,
  // An offline reader already gave the service: may take a wallet below its floor.
  transfer_flag_service_given = 1u << 0,
  // Arrived after its business day had closed.
  transfer_flag_late = 1u << 1,
  // Rated from an offline reader's upload.
  transfer_flag_offline = 1u << 2,
  // Posted by the close's repricing (engine/groups/repricing.h): the
  // difference between what a tap posted as it arrived and what it costs
  // re-rated in event order. Never on a settlement file's line: the files
  // show each tap at its repriced money, whatever order it arrived in.
  transfer_flag_repriced = 1u << 3,
};

// What a stored transfer says: who paid whom, how much, and why.
struct Transfer {
  AccountId debit_account;
  AccountId credit_account;
  Asset asset = Asset::twd;
  std::int64_t amount_minor = 0;   // > 0
  TransferCode code = TransferCode::fare;
  std::uint16_t flags = transfer_flag_none;
  std::uint32_t rule_set_version = 0;  // 0 when no rule set was involved
  EventTime event_time;                // the tap's or the action's time
  // Tap context for settlement files; zero for non-tap transfers.
  Mode mode = Mode::identify;
  OperatorId operator_id;
  std::uint32_t route = 0;
  std::uint32_t location = 0;

  bool operator==(const Transfer&) const = default;
};

// Account roles let the pure rating function name accounts without knowing
// their ids; the engine resolves them against the ledger.
enum class AccountRole : std::uint8_t {
  card_wallet = 1,
  card_points = 2,
  operator_payable = 3,   // of Posting::operator_id
  subsidy_budget = 4,
  topup_float = 5,
  points_budget = 6,
  points_redeemed = 7,
  credit_card_clearing = 8,
  // One budget per city programme (citycard/programme.h, programme_budget_role).
  budget_buy_one_get_one = 9,
  budget_category_fare = 10,
  budget_citizen_discount = 11,
  budget_transfer_discount = 12,
  budget_fare_cap = 13,
  budget_welfare_points = 14,
  budget_railway = 15,
  budget_bonus_points = 16,
  card_bonus_points = 17,   // the card's bonus points (AccountKind::card_bonus_points)
};

// One leg of a rating's result, before account ids are known.
struct Posting {
  AccountRole debit = AccountRole::card_wallet;
  AccountRole credit = AccountRole::operator_payable;
  OperatorId operator_id;          // for operator_payable roles
  Asset asset = Asset::twd;
  std::int64_t amount_minor = 0;   // > 0
  TransferCode code = TransferCode::fare;
  std::uint16_t flags = transfer_flag_none;
};

constexpr std::string_view transfer_code_name(TransferCode code) noexcept {
  switch (code) {
    case TransferCode::fare: return "fare";
    case TransferCode::subsidy: return "subsidy";
    case TransferCode::points_redeemed: return "points_redeemed";
    case TransferCode::points_subsidy: return "points_subsidy";
    case TransferCode::points_allotment: return "points_allotment";
    case TransferCode::points_expired: return "points_expired";
    case TransferCode::points_reward: return "points_reward";
    case TransferCode::payment: return "payment";
    case TransferCode::top_up: return "top_up";
    case TransferCode::auto_top_up: return "auto_top_up";
    case TransferCode::fare_refund: return "fare_refund";
    case TransferCode::refund: return "refund";
    case TransferCode::balance_move: return "balance_move";
    case TransferCode::reversal: return "reversal";
    case TransferCode::adjustment: return "adjustment";
    case TransferCode::settlement: return "settlement";
    case TransferCode::subsidy_buy_one_get_one: return "subsidy_buy_one_get_one";
    case TransferCode::subsidy_category_fare: return "subsidy_category_fare";
    case TransferCode::subsidy_citizen_discount: return "subsidy_citizen_discount";
    case TransferCode::subsidy_transfer_discount: return "subsidy_transfer_discount";
    case TransferCode::subsidy_fare_cap: return "subsidy_fare_cap";
    case TransferCode::subsidy_railway: return "subsidy_railway";
    case TransferCode::subsidy_bonus_points: return "subsidy_bonus_points";
    case TransferCode::bonus_points_earned: return "bonus_points_earned";
    case TransferCode::bonus_points_redeemed: return "bonus_points_redeemed";
    case TransferCode::bonus_points_expired: return "bonus_points_expired";
  }
  return "?";
}

inline std::optional<TransferCode> parse_transfer_code(std::string_view text) noexcept {
  for (int i = 1; i <= transfer_code_max; ++i) {
    auto code = static_cast<TransferCode>(i);
    if (transfer_code_name(code) == text) return code;
  }
  return std::nullopt;
}

}  // namespace citycard
