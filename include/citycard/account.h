// Ledger accounts: who holds value, in which asset, and how low it may go.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>

#include "citycard/ids.h"
#include "citycard/money.h"

namespace citycard {

enum class AccountKind : std::uint8_t {
  card_wallet = 1,        // a card holder's e-wallet (TWD)
  card_points = 2,        // a card holder's points (points)
  operator_payable = 3,   // what the city owes an operator, not yet settled (TWD)
  operator_settled = 4,   // what the clearing house has accepted for an operator (TWD)
  subsidy_budget = 5,     // the city's subsidy and discount budget (TWD)
  topup_float = 6,        // cash and bank money collected for wallets (TWD)
  points_budget = 7,      // where points are issued from (points)
  points_redeemed = 8,    // where spent and expired points go (points)
  credit_card_clearing = 9,  // auto top-up owed by the co-branded card issuer (TWD)
  refunds = 10,           // refunds paid out to card holders (TWD)
  adjustments = 11,       // operator corrections (either asset)
  programme_budget = 12,  // one city programme's budget (TWD; citycard/programme.h)
  // A card holder's bonus points (points): partner shops' and the co-branded
  // card's cashback, apart from the welfare points of card_points (their own
  // expiry, spent only at partner shops; docs/rules.md "Bonus points").
  card_bonus_points = 13,
};
inline constexpr int account_kind_count = 13;

// Balance floor meaning "no limit": clearing and budget accounts mirror the
// money that flows out of them and may be as negative as needed.
inline constexpr std::int64_t balance_floor_none = std::numeric_limits<std::int64_t>::min();

struct AccountSpec {
  AccountKind kind = AccountKind::card_wallet;
  Asset asset = Asset::twd;
  // The lowest balance a normal transfer may leave; 0 for wallets, -overdraft
  // with an overdraft, balance_floor_none for clearing accounts. A transfer
  // flagged service_given may go below it (the debt is then visible).
  std::int64_t balance_floor_minor = 0;
  // The highest balance a credit may leave (a wallet's legal maximum);
  // max() means no ceiling.
  std::int64_t balance_ceiling_minor = std::numeric_limits<std::int64_t>::max();
  // The card or operator this account belongs to, if any (for reports).
  std::uint64_t owner = 0;
};

struct Account {
  AccountId id;
  AccountSpec spec;
  std::int64_t balance_minor = 0;   // credits_posted - debits_posted
  std::int64_t debits_posted_minor = 0;
  std::int64_t credits_posted_minor = 0;
  std::uint64_t transfer_count = 0;
};

constexpr std::string_view account_kind_name(AccountKind kind) noexcept {
  switch (kind) {
    case AccountKind::card_wallet: return "card_wallet";
    case AccountKind::card_points: return "card_points";
    case AccountKind::operator_payable: return "operator_payable";
    case AccountKind::operator_settled: return "operator_settled";
    case AccountKind::subsidy_budget: return "subsidy_budget";
    case AccountKind::topup_float: return "topup_float";
    case AccountKind::points_budget: return "points_budget";
    case AccountKind::points_redeemed: return "points_redeemed";
    case AccountKind::credit_card_clearing: return "credit_card_clearing";
    case AccountKind::refunds: return "refunds";
    case AccountKind::adjustments: return "adjustments";
    case AccountKind::programme_budget: return "programme_budget";
    case AccountKind::card_bonus_points: return "card_bonus_points";
  }
  return "?";
}

inline std::optional<AccountKind> parse_account_kind(std::string_view text) noexcept {
  for (int i = 1; i <= account_kind_count; ++i) {
    auto kind = static_cast<AccountKind>(i);
    if (account_kind_name(kind) == text) return kind;
  }
  return std::nullopt;
}

}  // namespace citycard
