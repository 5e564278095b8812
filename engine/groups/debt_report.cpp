#include "debt_report.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "citycard/check.h"
#include "citycard/limits.h"

namespace citycard::engine {
namespace {

// Walks the wallet's transfers newest first, undoing each, until the balance
// before a transfer is zero or more: that transfer is where the debt began.
Status find_since(const ledger::Ledger& ledger, DebtEntry& entry) {
  std::int64_t after = entry.balance_minor;
  std::uint64_t before = 0;
  while (true) {
    auto page = ledger.history(entry.wallet, before, limits::history_page_max);
    if (!page) return page.status();
    for (const auto& stored : page->entries) {
      const Transfer& transfer = stored.transfer;
      const std::int64_t signed_amount = transfer.credit_account == entry.wallet ? transfer.amount_minor : -transfer.amount_minor;
      const std::int64_t balance_before = after - signed_amount;
      if (balance_before >= 0) {
        // Only a debit takes a wallet from zero or more to below zero.
        CITYCARD_CHECK_LT(signed_amount, 0);
        entry.since = transfer.event_time;
        entry.since_sequence = stored.sequence;
        return Status::ok();
      }
      after = balance_before;
    }
    if (page->next_cursor == 0) break;
    before = page->next_cursor;
  }
  return Status::corruption(fmt::format("the history of wallet {} of card {} does not lead back to a balance of zero or more",
                                        entry.wallet.value, entry.card.to_string()));
}

}  // namespace

Result<std::vector<DebtEntry>> read_debt_report(const ledger::Ledger& ledger) {
  std::vector<DebtEntry> entries;
  std::set<std::uint64_t> wallets_seen;  // linked media share their primary card's wallet
  Status failed = Status::ok();
  Status scanned = ledger.snapshot()->scan_cards([&](const CardRecord& card) {
    if (!card.linked_to.empty() || !wallets_seen.insert(card.wallet_account.value).second) return true;
    auto account = ledger.account(card.wallet_account);
    if (!account) {
      failed = Status::corruption(fmt::format("card {} names wallet {}, which the ledger lacks", card.card.to_string(),
                                              card.wallet_account.value));
      return false;
    }
    if (account->balance_minor >= 0) return true;
    DebtEntry entry{card.card, card.wallet_account, card.category, account->balance_minor, EventTime{}, 0};
    if (Status found = find_since(ledger, entry); !found) {
      failed = found;
      return false;
    }
    entries.push_back(entry);
    return true;
  });
  if (!scanned) return scanned;
  if (!failed) return failed;
  std::sort(entries.begin(), entries.end(), [](const DebtEntry& a, const DebtEntry& b) {
    return a.balance_minor != b.balance_minor ? a.balance_minor < b.balance_minor : a.card < b.card;
  });
  return entries;
}

}  // namespace citycard::engine
