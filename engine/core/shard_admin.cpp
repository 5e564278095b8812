// Card-office actions as posting groups, built on the card's shard so they
// are ordered with its taps.
#include <fmt/format.h>

#include "admin_audit.h"
#include "deny_records.h"
#include "shard.h"

namespace citycard::engine {
namespace {

Transfer admin_transfer(AccountId debit, AccountId credit, Asset asset, std::int64_t amount, TransferCode code,
                        const AdminCommand& command) {
  Transfer transfer;
  transfer.debit_account = debit;
  transfer.credit_account = credit;
  transfer.asset = asset;
  transfer.amount_minor = amount;
  transfer.code = code;
  transfer.event_time = command.time;
  transfer.mode = code == TransferCode::top_up ? Mode::top_up : Mode::identify;
  return transfer;
}

const char* action_name(AdminAction action) {
  switch (action) {
    case AdminAction::top_up: return "top-up";
    case AdminAction::set_status: return "status";
    case AdminAction::replace: return "replace";
    case AdminAction::refund: return "refund";
    case AdminAction::reader_add: return "reader add";
    case AdminAction::reader_status: return "reader status";
  }
  return "?";
}

}  // namespace

void Shard::build_admin(Item& item) {
  const AdminCommand& command = item.admin;
  AdminResult& result = item.admin_result;
  result = {};
  result.card = command.card;
  item.group = {};
  item.group.key = command.key;
  item.card = CardId();
  item.refresh_elsewhere = CardId();
  if (command.key.origin != Origin::operator_action) {
    result.status = Status::invalid_argument("an admin action needs an op:SOURCE:NUMBER key");
    return;
  }
  CardEntry* entry = find_card(command.card);
  if (entry == nullptr) {
    result.status = Status::not_found("no card " + command.card.to_string());
    return;
  }
  const AccountId wallet = entry->record.wallet_account;
  const AccountId points = entry->record.points_account;
  const CardStatus before = entry->record.status;
  std::string audit;
  switch (command.action) {
    case AdminAction::reader_add:
    case AdminAction::reader_status:
      // Engine::admin routes these to build_reader_admin.
      result.status = Status::invalid_argument("a reader action is not a card action");
      return;
    case AdminAction::top_up:
    case AdminAction::refund: {
      bool top_up = command.action == AdminAction::top_up;
      if (command.amount_minor <= 0 || command.amount_minor > limits::transfer_amount_minor_max) {
        result.status = Status::invalid_argument(fmt::format("amount must be 1..{}, got {}", limits::transfer_amount_minor_max,
                                                             command.amount_minor));
        return;
      }
      if (top_up && before != CardStatus::active) {
        result.status = Status::refused(fmt::format("card {} is {}; top-up refused", command.card.to_string(), card_status_name(before)));
        return;
      }
      if (!top_up && command.amount_minor > balance(wallet)) {
        result.status = Status::refused(fmt::format("card {} holds {} TWD; cannot refund {}", command.card.to_string(),
                                                    balance(wallet), command.amount_minor));
        return;
      }
      item.group.transfers.push_back(top_up ? admin_transfer(context_.system.topup_float, wallet, Asset::twd, command.amount_minor,
                                                             TransferCode::top_up, command)
                                            : admin_transfer(wallet, context_.system.refunds, Asset::twd, command.amount_minor,
                                                             TransferCode::refund, command));
      balance(wallet) += top_up ? command.amount_minor : -command.amount_minor;
      audit = fmt::format("{} {} TWD card {}", action_name(command.action), command.amount_minor, command.card.to_string());
      break;
    }
    case AdminAction::set_status: {
      if (command.status == CardStatus::replaced) {
        result.status = Status::invalid_argument("use replace to replace a card");
        return;
      }
      if (before == CardStatus::replaced) {
        result.status = Status::refused("card " + command.card.to_string() + " was replaced; it cannot change status");
        return;
      }
      entry->record.status = command.status;
      item.group.card_updates.push_back(entry->record);
      audit = fmt::format("card {} status {} -> {}", command.card.to_string(), card_status_name(before),
                          card_status_name(command.status));
      break;
    }
    case AdminAction::replace: {
      if (command.new_card.empty() || command.new_card == command.card) {
        result.status = Status::invalid_argument("replace needs a new card id other than the old one");
        return;
      }
      if (before == CardStatus::replaced) {
        result.status = Status::refused("card " + command.card.to_string() + " was already replaced by " +
                                        entry->record.replaced_by.to_string());
        return;
      }
      if (balance(wallet) < 0) {
        result.status = Status::refused(fmt::format("card {} owes {} TWD; settle the debt before replacing it",
                                                    command.card.to_string(), -balance(wallet)));
        return;
      }
      if (!entry->record.linked_to.empty()) {
        result.status = Status::refused("card " + command.card.to_string() + " is a linked medium; replace its primary card");
        return;
      }
      auto target = context_.ledger.card(command.new_card);
      if (!target && target.status().code() == StatusCode::not_found) {
        ledger::NewCard fresh;
        fresh.card = command.new_card;
        fresh.category = entry->record.category;
        fresh.media = entry->record.media;
        if (auto account = context_.ledger.account(wallet)) {
          fresh.overdraft_minor = account->spec.balance_floor_minor < 0 ? -account->spec.balance_floor_minor : 0;
          fresh.wallet_ceiling_minor = account->spec.balance_ceiling_minor;
        }
        auto issued = context_.ledger.issue_cards({fresh});
        if (!issued) {
          result.status = issued.status();
          return;
        }
        target = issued->front();
      }
      if (!target) {
        result.status = target.status();
        return;
      }
      if (target->status != CardStatus::active || !target->linked_to.empty()) {
        result.status = Status::refused("new card " + command.new_card.to_string() + " is not an active primary card");
        return;
      }
      std::int64_t moved_wallet = balance(wallet);
      std::int64_t moved_points = balance(points);
      if (moved_wallet > 0) {
        item.group.transfers.push_back(admin_transfer(wallet, target->wallet_account, Asset::twd, moved_wallet,
                                                      TransferCode::balance_move, command));
      }
      if (moved_points > 0) {
        item.group.transfers.push_back(admin_transfer(points, target->points_account, Asset::points, moved_points,
                                                      TransferCode::balance_move, command));
      }
      balance(wallet) = 0;
      balance(points) -= moved_points > 0 ? moved_points : 0;
      entry->record.status = CardStatus::replaced;
      entry->record.replaced_by = command.new_card;
      item.group.card_updates.push_back(entry->record);
      item.refresh_elsewhere = command.new_card;
      result.moved_wallet_minor = moved_wallet;
      result.moved_points = moved_points;
      audit = fmt::format("card {} replaced by {}: moved {} TWD and {} points", command.card.to_string(),
                          command.new_card.to_string(), moved_wallet, moved_points);
      break;
    }
  }
  entry->state = rules::encode_card_state(card_state(*entry));
  item.group.records.push_back({ledger::RecordSpace::card_state, card_key(command.card), entry->state});
  item.group.records.push_back(audit_record(admin_audit_entry(command, std::move(audit))));
  note_listing(item, *entry);
  item.card = command.card;
  ++entry->pending;
  result.status = Status::ok();
  result.card_status = entry->record.status;
  result.wallet_minor = command.action == AdminAction::replace ? result.moved_wallet_minor : balance(wallet);
  result.points = command.action == AdminAction::replace ? result.moved_points : balance(points);
  if (command.action == AdminAction::replace) result.card = command.new_card;
}

}  // namespace citycard::engine
