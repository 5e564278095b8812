// Card-office actions as posting groups: top-up, refund, status, replace.
// Refunds over the four-eyes limit wait instead (group_approvals.cpp).
#include <fmt/format.h>

#include "admin_audit.h"
#include "approvals.h"
#include "card_state_codec.h"
#include "citycard/limits.h"
#include "deny_records.h"
#include "group_builder.h"
#include "hashing.h"

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
    case AdminAction::approve: return "approval";
    case AdminAction::reject: return "rejection";
  }
  return "?";
}

// "top-up of 100 on card 04A1B2C3", for people.
std::string describe(const AdminCommand& command) {
  if (command.action == AdminAction::reader_add || command.action == AdminAction::reader_status) return action_name(command.action);
  std::string text = fmt::format("{} of card {}", action_name(command.action), command.card.to_string());
  if (command.amount_minor != 0) text += fmt::format(" for {}", command.amount_minor);
  if (command.action == AdminAction::replace) text += " by " + command.new_card.to_string();
  return text;
}

}  // namespace

std::string action_fingerprint(const AdminCommand& command) {
  return fmt::format("action1 {} card {} amount {} status {} new {}", action_name(command.action), command.card.to_string(),
                     command.amount_minor, card_status_name(command.status), command.new_card.to_string());
}

Status GroupBuilder::check_retry(const AdminCommand& command, std::string_view stored_fingerprint) {
  // A decision's key is the refund's: another decision posted it first.
  if (command.action == AdminAction::approve || command.action == AdminAction::reject) {
    return Status::refused(fmt::format("refund {} was already {}", command.key.to_string(),
                                       rejected_fingerprint(stored_fingerprint) ? "rejected" : "approved"));
  }
  if (auto rejected = rejected_fingerprint(stored_fingerprint); rejected && *rejected == action_fingerprint(command)) {
    return Status::refused(fmt::format("refund {} was rejected by a second supervisor; nothing was refunded",
                                       command.key.to_string()));
  }
  // Groups posted before requests were fingerprinted carry none: a retry.
  if (stored_fingerprint.empty() || stored_fingerprint == action_fingerprint(command)) return Status::ok();
  return Status::invalid_argument(fmt::format("reference {} was used for another request; this {} needs a reference of its own",
                                              command.key.to_string(), describe(command)));
}

void GroupBuilder::action_result(Draft& draft, const CardEntry& entry) {
  const AdminCommand& command = draft.admin;
  AdminResult& result = draft.admin_result;
  result.card_status = entry.record.status;
  result.wallet_minor = command.action == AdminAction::replace ? result.moved_wallet_minor : entry.wallet->balance_minor;
  result.points = command.action == AdminAction::replace ? result.moved_points : entry.points->balance_minor;
  if (command.action == AdminAction::replace) result.card = command.new_card;
}

void GroupBuilder::card_action(Draft& draft) {
  const AdminCommand& command = draft.admin;
  AdminResult& result = draft.admin_result;
  result = {};
  result.card = command.card;
  draft.group = {};
  draft.group.key = command.key;
  draft.card = CardId();
  draft.deny_after.reset();
  draft.refresh_elsewhere = CardId();
  if (command.key.origin != Origin::operator_action) {
    result.status = Status::invalid_argument("an admin action needs an op:SOURCE:NUMBER key");
    return;
  }
  if (is_reader_action(command.action)) {
    result.status = Status::invalid_argument("a reader action is not a card action");
    return;
  }
  if (command.action == AdminAction::approve || command.action == AdminAction::reject) return decide_approval(draft);
  auto loaded = book_.load(command.card);
  if (!loaded) {
    result.status = loaded.status();
    return;
  }
  CardEntry* entry = *loaded;
  if (entry == nullptr) {
    result.status = Status::not_found("no card " + command.card.to_string());
    return;
  }
  // Done before (a retry), or the reference reused for another request.
  auto posted = context_.ledger.posted(command.key);
  if (!posted) {
    result.status = posted.status();
    return;
  }
  if (posted->has_value()) {
    // A refund a second supervisor rejected: said so, naming him.
    if (auto rejected = rejected_fingerprint((*posted)->outcome); rejected && *rejected == action_fingerprint(command)) {
      result.status = rejected_status(command);
      return;
    }
    result.status = check_retry(command, (*posted)->outcome);
    result.duplicate = result.status.is_ok();
    if (result.duplicate) action_result(draft, *entry);
    return;
  }
  // A refund waiting for a second supervisor holds its reference too.
  auto waiting = load_approval(context_.ledger, command.key);
  if (!waiting) {
    result.status = waiting.status();
    return;
  }
  if (waiting->has_value()) return answer_waiting(draft, *entry, **waiting);
  const AccountId wallet = entry->record.wallet_account;
  const AccountId points = entry->record.points_account;
  const CardStatus before = entry->record.status;
  std::string audit;
  switch (command.action) {
    case AdminAction::reader_add:
    case AdminAction::reader_status:
      return;  // refused above
    case AdminAction::approve:
    case AdminAction::reject:
      return;  // decide_approval above
    case AdminAction::top_up:
    case AdminAction::refund: {
      result.status = money_allowed(*entry, command);
      if (!result.status) return;
      // Checked like any refund first (amount, wallet), so a hopeless one is
      // refused now rather than after a supervisor's time; then it waits.
      if (needs_approval(command, context_.four_eyes_minor)) return ask_approval(draft, *entry);
      audit = add_money(draft, *entry, command);
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
      draft.group.card_updates.push_back(entry->record);
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
      if (book_.balance(wallet) < 0) {
        result.status = Status::refused(fmt::format("card {} owes {} TWD; settle the debt before replacing it",
                                                    command.card.to_string(), -book_.balance(wallet)));
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
      std::int64_t moved_wallet = book_.balance(wallet);
      std::int64_t moved_points = book_.balance(points);
      if (moved_wallet > 0) {
        draft.group.transfers.push_back(admin_transfer(wallet, target->wallet_account, Asset::twd, moved_wallet,
                                                       TransferCode::balance_move, command));
      }
      if (moved_points > 0) {
        draft.group.transfers.push_back(admin_transfer(points, target->points_account, Asset::points, moved_points,
                                                       TransferCode::balance_move, command));
      }
      book_.balance(wallet) = 0;
      book_.balance(points) -= moved_points > 0 ? moved_points : 0;
      entry->record.status = CardStatus::replaced;
      entry->record.replaced_by = command.new_card;
      draft.group.card_updates.push_back(entry->record);
      draft.refresh_elsewhere = command.new_card;
      result.moved_wallet_minor = moved_wallet;
      result.moved_points = moved_points;
      audit = fmt::format("card {} replaced by {}: moved {} TWD and {} points", command.card.to_string(),
                          command.new_card.to_string(), moved_wallet, moved_points);
      break;
    }
  }
  finish_action(draft, *entry, admin_audit_entry(command, std::move(audit)));
}

Status GroupBuilder::money_allowed(const CardEntry& entry, const AdminCommand& command) {
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
  if (!top_up && command.amount_minor > book_.balance(wallet)) {
    return Status::refused(fmt::format("card {} holds {} TWD; cannot refund {}", command.card.to_string(), book_.balance(wallet),
                                       command.amount_minor));
  }
  return Status::ok();
}

std::string GroupBuilder::add_money(Draft& draft, const CardEntry& entry, const AdminCommand& command) {
  const AccountId wallet = entry.record.wallet_account;
  const bool top_up = command.action == AdminAction::top_up;
  draft.group.transfers.push_back(top_up ? admin_transfer(context_.system.topup_float, wallet, Asset::twd, command.amount_minor,
                                                          TransferCode::top_up, command)
                                         : admin_transfer(wallet, context_.system.refunds, Asset::twd, command.amount_minor,
                                                          TransferCode::refund, command));
  book_.balance(wallet) += top_up ? command.amount_minor : -command.amount_minor;
  return fmt::format("{} {} TWD card {}", action_name(command.action), command.amount_minor, command.card.to_string());
}

// The card's state, the audit entry and the request's fingerprint go with
// every action's group; the card is pending until it is durable.
void GroupBuilder::finish_action(Draft& draft, CardEntry& entry, const AuditEntry& audit) {
  const AdminCommand& command = draft.admin;
  entry.state = rules::encode_card_state(book_.state_of(entry));
  draft.group.records.push_back({ledger::RecordSpace::card_state, card_key(command.card), entry.state});
  draft.group.records.push_back(audit_record(audit));
  if (draft.group.outcome.empty()) draft.group.outcome = action_fingerprint(command);
  note_listing(draft, entry);
  draft.card = command.card;
  ++entry.pending;
  draft.admin_result.status = Status::ok();
  action_result(draft, entry);
}

}  // namespace citycard::engine
