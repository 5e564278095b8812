// The city's own accounts, registered by name once per ledger.
#pragma once

#include "citycard/account.h"
#include "citycard/programme.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::ledger {

struct SystemAccounts {
  AccountId subsidy_budget;        // TWD: before programmes, every city payment (Programme::unattributed)
  AccountId topup_float;           // TWD: cash and bank money collected for wallets
  AccountId points_budget;         // points: monthly allotments and rewards come from here
  AccountId points_redeemed;       // points: spent and expired points go here
  AccountId credit_card_clearing;  // TWD: auto top-ups owed by the co-branded card issuer
  AccountId refunds;               // TWD: refunds paid out
  AccountId adjustments;           // TWD: operator corrections
  // TWD: one budget per city programme (citycard/programme.h).
  AccountId budget_buy_one_get_one;
  AccountId budget_category_fare;
  AccountId budget_citizen_discount;
  AccountId budget_transfer_discount;
  AccountId budget_fare_cap;
  AccountId budget_welfare_points;
  AccountId budget_railway;
  AccountId budget_bonus_points;

  // The account a programme pays from (subsidy_budget for unattributed).
  AccountId budget_of(Programme programme) const noexcept;
};

// Creates the accounts that are missing and returns all of them.
Result<SystemAccounts> ensure_system_accounts(Ledger& ledger);

// The accounts, when the ledger has them (read-only ledgers cannot create).
Result<SystemAccounts> find_system_accounts(const Ledger& ledger);

}  // namespace citycard::ledger
