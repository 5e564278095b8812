#include "crash_workload.h"

#include <string>

namespace citycard::testing {

Result<CrashWorkload> crash_workload_setup(ledger::Ledger& ledger) {
  CrashWorkload workload;
  auto system = ledger::ensure_system_accounts(ledger);
  if (!system) return system.status();
  workload.system = *system;
  auto bus = ledger.register_operator(OperatorId{1}, "Capital Bus");
  if (!bus) return bus.status();
  workload.bus = *bus;
  std::vector<ledger::NewCard> missing;
  for (std::size_t i = 0; i < crash_cards; ++i) {
    ledger::NewCard card;
    card.card = *CardId::parse("CC" + std::to_string(1000 + i));
    card.wallet_ceiling_minor = 1'000'000'000;
    if (!ledger.card(card.card)) missing.push_back(card);
  }
  if (!missing.empty()) {
    if (missing.size() != crash_cards) return Status::corruption("half of the cards were issued");
    auto issued = ledger.issue_cards(missing);
    if (!issued) return issued.status();
  }
  for (std::size_t i = 0; i < crash_cards; ++i) {
    auto card = ledger.card(*CardId::parse("CC" + std::to_string(1000 + i)));
    if (!card) return card.status();
    workload.wallets.push_back(card->wallet_account);
  }
  for (std::size_t chunk = 0; chunk < crash_cards; chunk += 16) {
    ledger::PostingGroup group;
    group.key = IdempotencyKey{Origin::system, 9, chunk};
    for (std::size_t i = chunk; i < chunk + 16; ++i) {
      Transfer transfer;
      transfer.debit_account = workload.system.topup_float;
      transfer.credit_account = workload.wallets[i];
      transfer.amount_minor = 10'000'000;
      transfer.code = TransferCode::top_up;
      transfer.mode = Mode::top_up;
      group.transfers.push_back(transfer);
    }
    auto posted = ledger.post({group});
    if (!posted) return posted.status();
    if (!posted->front().posted) return posted->front().reason;
  }
  return workload;
}

std::vector<ledger::PostingGroup> crash_workload_batch(const CrashWorkload& workload, std::uint64_t batch) {
  std::vector<ledger::PostingGroup> groups;
  for (std::size_t g = 0; g < crash_groups_per_batch; ++g) {
    std::uint64_t sequence = batch * crash_groups_per_batch + g;
    ledger::PostingGroup group;
    group.key = IdempotencyKey::for_tap(TapId{ReaderId{crash_reader}, sequence});
    Transfer fare;
    fare.debit_account = workload.wallets[sequence % workload.wallets.size()];
    fare.credit_account = workload.bus.payable_account;
    fare.amount_minor = 1 + static_cast<std::int64_t>(sequence % 7);
    fare.code = TransferCode::fare;
    fare.mode = Mode::bus_board;
    fare.operator_id = workload.bus.id;
    fare.event_time = EventTime::from_unix_seconds(1'763'800'000 + static_cast<std::int64_t>(sequence));
    Transfer subsidy = fare;
    subsidy.debit_account = workload.system.subsidy_budget;
    subsidy.code = TransferCode::subsidy;
    group.transfers = {fare, subsidy};
    group.outcome = "batch " + std::to_string(batch);
    groups.push_back(std::move(group));
  }
  return groups;
}

}  // namespace citycard::testing
