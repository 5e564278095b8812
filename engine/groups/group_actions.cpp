// Card-office actions as posting groups: top-up, refund, adjustment (the
// money: group_money.cpp, group_adjust.cpp), status, replace. Refunds and
// adjustments over the four-eyes limit wait instead (group_approvals.cpp);
// refused requests are recorded (group_refusals.cpp).
#include <fmt/format.h>

#include "admin_audit.h"
#include "approvals.h"
#include "card_state_codec.h"
#include "citycard/check.h"
#include "deny_records.h"
#include "eligibility.h"
#include "group_builder.h"
#include "hashing.h"
#include "tap_adjustments.h"

namespace citycard::engine {
namespace {

// "top-up of 100 on card 04A1B2C3", for people.
std::string describe(const AdminCommand& command) {
  if (command.action == AdminAction::reader_add || command.action == AdminAction::reader_status) {
    return std::string(fingerprint_action_name(command.action));
  }
  std::string text = fmt::format("{} of card {}", fingerprint_action_name(command.action), command.card.to_string());
  if (command.amount_minor != 0) text += fmt::format(" for {}", command.amount_minor);
  if (command.action == AdminAction::replace) text += " by " + command.new_card.to_string();
  if (command.tap) text += " naming " + tap_reference(*command.tap);
  return text;
}

}  // namespace

std::string_view fingerprint_action_name(AdminAction action) {
  switch (action) {
    case AdminAction::top_up: return "top-up";
    case AdminAction::set_status: return "status";
    case AdminAction::replace: return "replace";
    case AdminAction::refund: return "refund";
    case AdminAction::reader_add: return "reader add";
    case AdminAction::reader_status: return "reader status";
    case AdminAction::approve: return "approval";
    case AdminAction::reject: return "rejection";
    case AdminAction::adjust: return "adjustment";
    case AdminAction::record_refusal: return "refusal";
    case AdminAction::set_category: return "eligibility";
    case AdminAction::link: return "link";
    case AdminAction::unlink: return "unlink";
    case AdminAction::merge: return "merge";
    case AdminAction::reprice: return "repricing";
    case AdminAction::set_auto_top_up: return "auto top-up";
  }
  return "?";
}

std::string_view fingerprint_noun(std::string_view fingerprint) {
  constexpr std::string_view head = "action1 ";
  if (fingerprint.substr(0, head.size()) != head) return "request";
  fingerprint.remove_prefix(head.size());
  const auto end = fingerprint.find(" card ");
  return end == std::string_view::npos ? std::string_view("request") : fingerprint.substr(0, end);
}

Transfer admin_transfer(AccountId debit, AccountId credit, std::int64_t amount, TransferCode code, const AdminCommand& command) {
  Transfer transfer;
  transfer.debit_account = debit;
  transfer.credit_account = credit;
  transfer.asset = Asset::twd;
  transfer.amount_minor = amount;
  transfer.code = code;
  transfer.event_time = command.time;
  transfer.mode = code == TransferCode::top_up ? Mode::top_up : Mode::identify;
  return transfer;
}

std::string action_fingerprint(const AdminCommand& command) {
  // The tap, the category and the auto top-up only when there is one: every
  // earlier fingerprint stays as stored.
  return fmt::format("action1 {} card {} amount {} status {} new {}{}{}{}", fingerprint_action_name(command.action),
                     command.card.to_string(), command.amount_minor, card_status_name(command.status),
                     command.new_card.to_string(), command.tap ? " tap " + tap_reference(*command.tap) : std::string(),
                     command.action == AdminAction::set_category
                         ? " category " + describe_eligibility(command.category, command.category_from_day,
                                                               command.category_until_day)
                         : std::string(),
                     command.action == AdminAction::set_auto_top_up ? " " + describe_auto_top_up(command.auto_top_up)
                                                                    : std::string());
}

Status GroupBuilder::check_retry(const AdminCommand& command, std::string_view stored_fingerprint) {
  // A decision's key is the waiting request's: another decision posted it first.
  if (command.action == AdminAction::approve || command.action == AdminAction::reject) {
    auto rejected = rejected_fingerprint(stored_fingerprint);
    return Status::refused(fmt::format("{} {} was already {}", fingerprint_noun(rejected ? *rejected : stored_fingerprint),
                                       command.key.to_string(), rejected ? "rejected" : "approved"));
  }
  if (auto rejected = rejected_fingerprint(stored_fingerprint); rejected && *rejected == action_fingerprint(command)) {
    return Status::refused(fmt::format("{} {} was rejected by a second supervisor; nothing moved", fingerprint_noun(*rejected),
                                       command.key.to_string()));
  }
  // Groups posted before requests were fingerprinted carry none: a retry.
  if (stored_fingerprint.empty() || stored_fingerprint == action_fingerprint(command)) return Status::ok();
  return Status::invalid_argument(fmt::format("reference {} was used for another request; this {} needs a reference of its own",
                                              command.key.to_string(), describe(command)));
}

void GroupBuilder::action_result(Draft& draft, const CardEntry& entry) {
  const AdminCommand& command = draft.admin();
  AdminResult& result = draft.admin_result();
  result.card_status = entry.record.status;
  result.wallet_minor = command.action == AdminAction::replace ? result.moved_wallet_minor : entry.wallet->balance_minor;
  result.points = command.action == AdminAction::replace ? result.moved_points : entry.points->balance_minor;
  if (command.action == AdminAction::replace) result.card = command.new_card;
}

void GroupBuilder::card_action(Draft& draft) {
  build_action(draft);
  if (!draft.admin_result().status) record_refusal(draft);
}

void GroupBuilder::build_action(Draft& draft) {
  const AdminCommand& command = draft.admin();
  AdminResult& result = draft.admin_result();
  result = {};
  result.card = command.card;
  draft.group = {};
  draft.group.key = command.key;
  draft.card = CardId();
  draft.deny_after.reset();
  draft.refresh_elsewhere = CardId();
  draft.media_moved.clear();
  if (command.action == AdminAction::reprice) return build_reprice(draft);
  if (command.key.origin != Origin::operator_action) {
    result.status = Status::invalid_argument("an admin action needs an op:SOURCE:NUMBER key");
    return;
  }
  if (is_reader_action(command.action)) {
    result.status = Status::invalid_argument("a reader action is not a card action");
    return;
  }
  // Refused before any rule (the role table): only recorded (card_action).
  if (!command.refusal.is_ok()) {
    result.status = command.refusal;
    return;
  }
  if (command.action == AdminAction::record_refusal) {
    result.status = Status::invalid_argument("a refusal to record needs the refusal");
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
    case AdminAction::record_refusal:
    case AdminAction::reprice:
      return;  // decide_approval, build_reprice, or refused, above
    case AdminAction::link:
    case AdminAction::unlink:
    case AdminAction::merge: {
      auto built = command.action == AdminAction::link     ? build_link(draft)
                   : command.action == AdminAction::unlink ? build_unlink(draft)
                                                           : build_merge(draft);
      if (!built) {
        result.status = built.status();
        return;
      }
      audit = std::move(*built);
      // The entry moved in the book (and other cards were loaded).
      entry = book_.cached(command.card);
      CITYCARD_CHECK(entry != nullptr);
      break;
    }
    case AdminAction::top_up:
    case AdminAction::refund:
    case AdminAction::adjust: {
      auto move = plan_money(*entry, command);
      if (!move) {
        result.status = move.status();
        return;
      }
      // Checked like any other first (amount, wallet, tap), so a hopeless
      // one is refused now rather than after a supervisor's time; then it waits.
      if (needs_approval(command, context_.four_eyes_minor)) return ask_approval(draft, *entry);
      audit = apply_money(draft, *entry, std::move(*move));
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
    case AdminAction::set_auto_top_up: {
      auto built = build_auto_top_up(*entry, command);
      if (!built) {
        result.status = built.status();
        return;
      }
      audit = std::move(*built);
      break;
    }
    case AdminAction::set_category: {
      if (before == CardStatus::replaced) {
        result.status = Status::refused("card " + command.card.to_string() + " was replaced by " +
                                        entry->record.replaced_by.to_string() + "; set the new card's category");
        return;
      }
      if (command.category_until_day != no_category_day && command.category_until_day < command.category_from_day) {
        result.status = Status::invalid_argument("the eligibility period ends before it starts");
        return;
      }
      const std::string was = describe_eligibility(entry->record.category, entry->record.category_from_day,
                                                   entry->record.category_until_day);
      entry->record.category = command.category;
      entry->record.category_from_day = command.category_from_day;
      entry->record.category_until_day = command.category_until_day;
      const std::uint16_t district_was = entry->record.district;
      if (command.district) entry->record.district = *command.district;
      draft.group.card_updates.push_back(entry->record);
      audit = fmt::format("card {} category {} (was {})", command.card.to_string(),
                          describe_eligibility(command.category, command.category_from_day, command.category_until_day), was);
      if (entry->record.district != district_was)
        audit += fmt::format(" district {} (was {})", entry->record.district, district_was);
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
        draft.group.transfers.push_back(
            admin_transfer(wallet, target->wallet_account, moved_wallet, TransferCode::balance_move, command));
      }
      if (moved_points > 0) {
        Transfer points_moved =
            admin_transfer(points, target->points_account, moved_points, TransferCode::balance_move, command);
        points_moved.asset = Asset::points;
        draft.group.transfers.push_back(points_moved);
      }
      // Bonus points go to the new card's bonus points (a card issued before
      // they had an account has none to move).
      const AccountId bonus = entry->record.bonus_points_account;
      const std::int64_t moved_bonus = bonus.value != 0 ? book_.balance(bonus) : 0;
      if (moved_bonus > 0 && target->bonus_points_account.value == 0) {
        result.status = Status::refused("new card " + command.new_card.to_string() + " has no bonus points account for the " +
                                        std::to_string(moved_bonus) + " bonus points");
        return;
      }
      if (moved_bonus > 0) {
        Transfer bonus_moved =
            admin_transfer(bonus, target->bonus_points_account, moved_bonus, TransferCode::balance_move, command);
        bonus_moved.asset = Asset::points;
        draft.group.transfers.push_back(bonus_moved);
        book_.balance(bonus) -= moved_bonus;
      }
      book_.balance(wallet) = 0;
      book_.balance(points) -= moved_points > 0 ? moved_points : 0;
      // The new card continues the account: its state (caps, allotment,
      // transfer windows) is the old card's, and the old card's media follow.
      std::string continued = rules::encode_card_state(book_.state_of(*entry));
      draft.group.records.push_back({ledger::RecordSpace::card_state, card_key(command.new_card), continued});
      const std::vector<CardId> media = context_.media != nullptr ? context_.media->media_of(command.card) : std::vector<CardId>{};
      if (Status joined = join_media(draft, media, *target, "follows its replaced primary", continued); !joined) {
        result.status = joined;
        return;
      }
      entry = book_.cached(command.card);
      CITYCARD_CHECK(entry != nullptr);
      entry->record.status = CardStatus::replaced;
      entry->record.replaced_by = command.new_card;
      draft.group.card_updates.push_back(entry->record);
      draft.refresh_elsewhere = command.new_card;
      result.moved_wallet_minor = moved_wallet;
      result.moved_points = moved_points;
      audit = fmt::format("card {} replaced by {}: moved {} TWD and {} points", command.card.to_string(),
                          command.new_card.to_string(), moved_wallet, moved_points);
      for (const CardId& medium : media) audit += "; medium " + medium.to_string() + " follows";
      break;
    }
  }
  finish_action(draft, *entry, admin_audit_entry(command, std::move(audit)));
}

// The card's state, the audit entry and the request's fingerprint go with
// every action's group; the card is pending until it is durable.
void GroupBuilder::finish_action(Draft& draft, CardEntry& entry, const AuditEntry& audit) {
  const AdminCommand& command = draft.admin();
  book_.set_state(entry, rules::encode_card_state(book_.state_of(entry)));
  draft.group.records.push_back({ledger::RecordSpace::card_state, card_key(account_key(entry.record)), entry.account->state});
  draft.group.records.push_back(audit_record(audit));
  if (draft.group.outcome.empty()) draft.group.outcome = action_fingerprint(command);
  note_listing(draft, entry);
  draft.card = command.card;
  book_.hold(entry);
  draft.admin_result().status = Status::ok();
  action_result(draft, entry);
}

}  // namespace citycard::engine
