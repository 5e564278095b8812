#include "ledger/system_accounts.h"

#include <array>
#include <limits>

namespace citycard::ledger {

namespace {

struct Entry {
  const char* name;
  AccountKind kind;
  Asset asset;
  AccountId SystemAccounts::*field;
};

// Ledgers made before an entry existed get it on their next open / init.
constexpr std::array<Entry, 15> entries{{
    {"subsidy_budget", AccountKind::subsidy_budget, Asset::twd, &SystemAccounts::subsidy_budget},
    {"topup_float", AccountKind::topup_float, Asset::twd, &SystemAccounts::topup_float},
    {"points_budget", AccountKind::points_budget, Asset::points, &SystemAccounts::points_budget},
    {"points_redeemed", AccountKind::points_redeemed, Asset::points, &SystemAccounts::points_redeemed},
    {"credit_card_clearing", AccountKind::credit_card_clearing, Asset::twd, &SystemAccounts::credit_card_clearing},
    {"refunds", AccountKind::refunds, Asset::twd, &SystemAccounts::refunds},
    {"adjustments", AccountKind::adjustments, Asset::twd, &SystemAccounts::adjustments},
    {"budget_buy_one_get_one", AccountKind::programme_budget, Asset::twd, &SystemAccounts::budget_buy_one_get_one},
    {"budget_category_fare", AccountKind::programme_budget, Asset::twd, &SystemAccounts::budget_category_fare},
    {"budget_citizen_discount", AccountKind::programme_budget, Asset::twd, &SystemAccounts::budget_citizen_discount},
    {"budget_transfer_discount", AccountKind::programme_budget, Asset::twd, &SystemAccounts::budget_transfer_discount},
    {"budget_fare_cap", AccountKind::programme_budget, Asset::twd, &SystemAccounts::budget_fare_cap},
    {"budget_welfare_points", AccountKind::programme_budget, Asset::twd, &SystemAccounts::budget_welfare_points},
    {"budget_railway", AccountKind::programme_budget, Asset::twd, &SystemAccounts::budget_railway},
    {"budget_bonus_points", AccountKind::programme_budget, Asset::twd, &SystemAccounts::budget_bonus_points},
}};

}  // namespace

AccountId SystemAccounts::budget_of(Programme programme) const noexcept {
  switch (programme) {
    case Programme::unattributed: return subsidy_budget;
    case Programme::buy_one_get_one: return budget_buy_one_get_one;
    case Programme::category_fare: return budget_category_fare;
    case Programme::citizen_discount: return budget_citizen_discount;
    case Programme::transfer_discount: return budget_transfer_discount;
    case Programme::fare_cap: return budget_fare_cap;
    case Programme::welfare_points: return budget_welfare_points;
    case Programme::railway_subsidy: return budget_railway;
    case Programme::bonus_points: return budget_bonus_points;
  }
  return subsidy_budget;
}

Result<SystemAccounts> ensure_system_accounts(Ledger& ledger) {
  SystemAccounts accounts;
  for (const Entry& entry : entries) {
    // Clearing accounts mirror what flows out of them: no floor, no ceiling.
    AccountSpec spec{entry.kind, entry.asset, balance_floor_none, std::numeric_limits<std::int64_t>::max(), 0};
    auto id = ledger.ensure_named_account(entry.name, spec);
    if (!id) return id.status();
    accounts.*entry.field = *id;
  }
  return accounts;
}

Result<SystemAccounts> find_system_accounts(const Ledger& ledger) {
  SystemAccounts accounts;
  for (const Entry& entry : entries) {
    auto id = ledger.named_account(entry.name);
    if (!id) return Status::not_found(std::string("system account '") + entry.name + "' is missing (run `citycard init`)");
    accounts.*entry.field = *id;
  }
  return accounts;
}

}  // namespace citycard::ledger
