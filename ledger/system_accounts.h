// The city's own accounts, registered by name once per ledger.
#pragma once

#include "citycard/account.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::ledger {

struct SystemAccounts {
  AccountId subsidy_budget;        // TWD: discounts, second fare units, caps, points paid to operators
  AccountId topup_float;           // TWD: cash and bank money collected for wallets
  AccountId points_budget;         // points: monthly allotments and rewards come from here
  AccountId points_redeemed;       // points: spent and expired points go here
  AccountId credit_card_clearing;  // TWD: auto top-ups owed by the co-branded card issuer
  AccountId refunds;               // TWD: refunds paid out
  AccountId adjustments;           // TWD: operator corrections
};

// Creates the accounts that are missing and returns all of them.
Result<SystemAccounts> ensure_system_accounts(Ledger& ledger);

// The accounts, when the ledger has them (read-only ledgers cannot create).
Result<SystemAccounts> find_system_accounts(const Ledger& ledger);

}  // namespace citycard::ledger
