// Adjustments (AdminAction::adjust): the card office corrects a card's
// wallet, with a reason, naming the tap it corrects when there is one.
//
// The postings, and why:
//   credit naming a tap   operator payable -> wallet  (code adjustment)
//       The operator that received the tap's fare pays it back: its
//       payable account goes down, so the day's settlement file shows the
//       line (column `other`, negative) and the clearing house pays the
//       operator that much less. Payables have no floor, so this holds even
//       when the fare was settled already (the payable goes negative until
//       the next day's fares). Several operators (a journey that paid two)
//       pay back in the order the tap paid them, each at most what it got.
//   debit naming a tap    wallet -> operator payable  (code adjustment)
//       A charge the card missed: the operator whose ride it was (the first
//       the tap paid, else the one the tap names) is paid, and it shows in
//       its settlement the same way.
//   credit without a tap  adjustments -> wallet  (goodwill: the city pays)
//   debit without a tap   wallet -> adjustments  (a correction in the city's favour)
// The adjustments account ("TWD: operator corrections") has no floor: it
// mirrors what the city gave or took back. A debit is held to the refund's
// wallet rule (wallet_covers), a credit to the wallet's ceiling.
#include <algorithm>

#include <fmt/format.h>

#include "citycard/check.h"
#include "citycard/limits.h"
#include "group_builder.h"
#include "tap_adjustments.h"

namespace citycard::engine {

Result<MoneyMove> GroupBuilder::plan_adjustment(const CardEntry& entry, const AdminCommand& command) {
  const std::int64_t amount = command.amount_minor;
  if (amount == 0) return Status::invalid_argument("an adjustment amount must not be 0 (> 0 credits the card, < 0 debits it)");
  if (amount < -limits::transfer_amount_minor_max || amount > limits::transfer_amount_minor_max) {
    return Status::invalid_argument(fmt::format("an adjustment amount must be within -{0}..{0} (not 0), got {1}",
                                                limits::transfer_amount_minor_max, amount));
  }
  if (command.reason.empty()) return Status::invalid_argument("an adjustment needs a reason (--reason): the trail says why");
  const CardRecord& card = entry.record;
  if (card.status == CardStatus::replaced) {
    return Status::refused(fmt::format("card {} was replaced by {}; adjust {}", card.card.to_string(),
                                       card.replaced_by.to_string(), card.replaced_by.to_string()));
  }
  // One card carries a wallet's adjustments, so they are ordered in one place.
  if (!card.linked_to.empty()) {
    return Status::refused(fmt::format("card {} is a linked medium of {}; adjust {}", card.card.to_string(),
                                       card.linked_to.to_string(), card.linked_to.to_string()));
  }
  const bool credit = amount > 0;
  const std::int64_t size = credit ? amount : -amount;
  Status allowed = credit ? wallet_takes(entry, size) : wallet_covers(entry, size, "debit");
  if (!allowed) return allowed;
  MoneyMove move;
  move.wallet_delta_minor = amount;
  if (command.tap) {
    if (Status planned = plan_tap_adjustment(entry, command, move); !planned) return planned;
    return move;
  }
  const AccountId wallet = card.wallet_account;
  const AccountId city = context_.system.adjustments;
  move.transfers.push_back(credit ? admin_transfer(city, wallet, size, TransferCode::adjustment, command)
                                  : admin_transfer(wallet, city, size, TransferCode::adjustment, command));
  move.detail = fmt::format("adjustment {:+} TWD card {}: {} the adjustments account (no tap named)", amount,
                            card.card.to_string(), credit ? "from" : "to");
  return move;
}

Status GroupBuilder::plan_tap_adjustment(const CardEntry& entry, const AdminCommand& command, MoneyMove& move) {
  const TapId tap = *command.tap;
  const std::string name = tap_reference(tap);
  const std::int64_t amount = command.amount_minor;
  auto charge = read_tap_charge(context_.ledger, tap, entry.record);
  if (!charge) return charge.status();
  // What adjustments naming the tap moved so far, groups not yet durable included.
  const std::string key = tap_adjusted_key(tap);
  TapAdjusted adjusted;
  if (const std::string* built = book_.remembered(entry.record.card, key)) {
    auto decoded = decode_tap_adjusted(tap, *built);
    if (!decoded) return decoded.status();
    adjusted = std::move(*decoded);
  } else {
    auto stored = load_tap_adjusted(context_.ledger, tap);
    if (!stored) return stored.status();
    adjusted = std::move(*stored);
  }
  auto leg = [&](AccountId debit, AccountId credit, std::int64_t size, OperatorId operator_id) {
    Transfer transfer = admin_transfer(debit, credit, size, TransferCode::adjustment, command);
    transfer.operator_id = operator_id;
    transfer.mode = charge->mode;
    transfer.route = charge->route;
    transfer.location = charge->location;
    move.transfers.push_back(transfer);
  };
  const AccountId wallet = entry.record.wallet_account;
  if (amount < 0) {
    if (charge->debit_payable.value == 0) {
      return Status::refused(fmt::format("tap {} names no registered operator to pay; adjust without --tap", name));
    }
    leg(wallet, charge->debit_payable, -amount, charge->debit_operator);
    adjusted.of(charge->debit_operator).debited_minor += -amount;
    move.detail = fmt::format("adjustment {:+} TWD card {} for {}: a charge it missed, paid to operator {}", amount,
                              entry.record.card.to_string(), name, charge->debit_operator.value);
  } else {
    // Each operator pays back at most what the tap paid it, plus what
    // earlier adjustments naming the tap debited to it, less what they
    // credited from it already.
    std::int64_t charged = 0;
    std::int64_t room_total = 0;
    for (const OperatorCharged& paid : charge->operators) {
      const OperatorAdjusted& before = adjusted.of(paid.operator_id);
      charged += paid.charged_minor + before.debited_minor;
      room_total += std::max<std::int64_t>(0, paid.charged_minor + before.debited_minor - before.credited_minor);
    }
    if (amount > room_total) {
      return Status::refused(fmt::format(
          "tap {} charged card {} {} TWD and {} TWD of it was credited back already: at most {} more, not {}", name,
          entry.record.card.to_string(), charged, charged - room_total, room_total, amount));
    }
    std::int64_t left = amount;
    std::string from;
    for (const OperatorCharged& paid : charge->operators) {
      OperatorAdjusted& now = adjusted.of(paid.operator_id);
      const std::int64_t room = std::max<std::int64_t>(0, paid.charged_minor + now.debited_minor - now.credited_minor);
      const std::int64_t share = std::min(room, left);
      if (share == 0) continue;
      leg(paid.payable, wallet, share, paid.operator_id);
      now.credited_minor += share;
      left -= share;
      from += fmt::format("{}{} TWD from operator {}", from.empty() ? "" : ", ", share, paid.operator_id.value);
    }
    CITYCARD_CHECK(left == 0);
    move.detail = fmt::format("adjustment {:+} TWD card {} for {}: {}", amount, entry.record.card.to_string(), name, from);
  }
  move.tap_record = ledger::RecordWrite{ledger::RecordSpace::engine, key, encode_tap_adjusted(adjusted)};
  return Status::ok();
}

}  // namespace citycard::engine
