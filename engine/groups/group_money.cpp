// The money of card-office actions: what a top-up, refund or adjustment
// (group_adjust.cpp) may move, planned against the card as it is, then put
// into the group and the card's balance mirror. The wallet rules live here
// once: a debit never takes more than the wallet holds (the refund's rule),
// a credit never passes the wallet's ceiling.
#include <fmt/format.h>

#include "citycard/check.h"
#include "citycard/limits.h"
#include "group_builder.h"

namespace citycard::engine {

Status GroupBuilder::wallet_covers(const CardEntry& entry, std::int64_t amount, std::string_view verb) {
  const std::int64_t balance = book_.balance(entry.record.wallet_account);
  if (amount <= balance) return Status::ok();
  return Status::refused(fmt::format("card {} holds {} TWD; cannot {} {}", entry.record.card.to_string(), balance, verb, amount));
}

Status GroupBuilder::wallet_takes(const CardEntry& entry, std::int64_t amount) {
  auto account = context_.ledger.account(entry.record.wallet_account);
  if (!account) return Status::corruption("card " + entry.record.card.to_string() + " names a wallet the ledger does not have");
  const std::int64_t balance = book_.balance(entry.record.wallet_account);
  if (amount <= account->spec.balance_ceiling_minor - balance) return Status::ok();
  return Status::refused(fmt::format("card {} holds {} TWD; {} more would pass its ceiling of {} TWD",
                                     entry.record.card.to_string(), balance, amount, account->spec.balance_ceiling_minor));
}

Result<MoneyMove> GroupBuilder::plan_money(const CardEntry& entry, const AdminCommand& command) {
  if (command.action == AdminAction::adjust) return plan_adjustment(entry, command);
  const AccountId wallet = entry.record.wallet_account;
  const bool top_up = command.action == AdminAction::top_up;
  if (command.amount_minor <= 0 || command.amount_minor > limits::transfer_amount_minor_max) {
    return Status::invalid_argument(fmt::format("amount must be 1..{}, got {}", limits::transfer_amount_minor_max,
                                                command.amount_minor));
  }
  if (top_up && entry.record.status != CardStatus::active) {
    return Status::refused(fmt::format("card {} is {}; top-up refused", command.card.to_string(),
                                       card_status_name(entry.record.status)));
  }
  Status allowed = top_up ? wallet_takes(entry, command.amount_minor) : wallet_covers(entry, command.amount_minor, "refund");
  if (!allowed) return allowed;
  MoneyMove move;
  move.transfers.push_back(top_up ? admin_transfer(context_.system.topup_float, wallet, command.amount_minor,
                                                   TransferCode::top_up, command)
                                  : admin_transfer(wallet, context_.system.refunds, command.amount_minor,
                                                   TransferCode::refund, command));
  move.wallet_delta_minor = top_up ? command.amount_minor : -command.amount_minor;
  move.detail = fmt::format("{} {} TWD card {}", fingerprint_action_name(command.action), command.amount_minor,
                            command.card.to_string());
  return move;
}

std::string GroupBuilder::apply_money(Draft& draft, CardEntry& entry, MoneyMove move) {
  // The money rule where the plan becomes the group: the wallet moves by
  // exactly what the transfers say.
  std::int64_t wallet_net = 0;
  for (const Transfer& transfer : move.transfers) {
    if (transfer.credit_account == entry.record.wallet_account) wallet_net += transfer.amount_minor;
    if (transfer.debit_account == entry.record.wallet_account) wallet_net -= transfer.amount_minor;
    draft.group.transfers.push_back(transfer);
  }
  CITYCARD_CHECK(wallet_net == move.wallet_delta_minor);
  book_.balance(entry.record.wallet_account) += move.wallet_delta_minor;
  if (move.tap_record) {
    book_.remember(entry.record.card, move.tap_record->key, move.tap_record->value);
    draft.group.records.push_back(std::move(*move.tap_record));
  }
  return std::move(move.detail);
}

}  // namespace citycard::engine
