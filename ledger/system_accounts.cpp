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

constexpr std::array<Entry, 7> entries{{
    {"subsidy_budget", AccountKind::subsidy_budget, Asset::twd, &SystemAccounts::subsidy_budget},
    {"topup_float", AccountKind::topup_float, Asset::twd, &SystemAccounts::topup_float},
    {"points_budget", AccountKind::points_budget, Asset::points, &SystemAccounts::points_budget},
    {"points_redeemed", AccountKind::points_redeemed, Asset::points, &SystemAccounts::points_redeemed},
    {"credit_card_clearing", AccountKind::credit_card_clearing, Asset::twd, &SystemAccounts::credit_card_clearing},
    {"refunds", AccountKind::refunds, Asset::twd, &SystemAccounts::refunds},
    {"adjustments", AccountKind::adjustments, Asset::twd, &SystemAccounts::adjustments},
}};

}  // namespace

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
