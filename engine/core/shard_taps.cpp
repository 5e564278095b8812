// Rating one tap into one posting group: roles resolved to accounts, the new
// card state and the decision stored with it.

#include <nlohmann/json.hpp>

#include "calendar.h"
#include "check.h"
#include "decision_codec.h"
#include "deny_records.h"
#include "shard.h"

namespace citycard::engine {

Result<AccountId> Shard::operator_payable(OperatorId id) {
  if (auto found = operators_.find(id.value); found != operators_.end()) return found->second;
  auto record = context_.ledger.operator_record(id);
  if (!record) return record.status();
  operators_.emplace(id.value, record->payable_account);
  return record->payable_account;
}

Status Shard::resolve(const rules::Rating& rating, const Tap& tap, const CardRecord& card, std::vector<Transfer>& out) {
  const ledger::SystemAccounts& system = context_.system;
  auto account_of = [&](AccountRole role, OperatorId operator_id) -> Result<AccountId> {
    switch (role) {
      case AccountRole::card_wallet: return card.wallet_account;
      case AccountRole::card_points: return card.points_account;
      case AccountRole::operator_payable: return operator_payable(operator_id);
      case AccountRole::subsidy_budget: return system.subsidy_budget;
      case AccountRole::topup_float: return system.topup_float;
      case AccountRole::points_budget: return system.points_budget;
      case AccountRole::points_redeemed: return system.points_redeemed;
      case AccountRole::credit_card_clearing: return system.credit_card_clearing;
    }
    return Status::invalid_argument("unknown account role");
  };
  out.clear();
  out.reserve(rating.posting_count);
  for (const Posting& posting : rating.posting_list()) {
    auto debit = account_of(posting.debit, posting.operator_id);
    if (!debit) return debit.status();
    auto credit = account_of(posting.credit, posting.operator_id);
    if (!credit) return credit.status();
    Transfer transfer;
    transfer.debit_account = *debit;
    transfer.credit_account = *credit;
    transfer.asset = posting.asset;
    transfer.amount_minor = posting.amount_minor;
    transfer.code = posting.code;
    transfer.flags = posting.flags;
    transfer.rule_set_version = rating.rule_set_version;
    transfer.event_time = tap.event_time;
    transfer.mode = tap.mode;
    transfer.operator_id = posting.operator_id.value != 0 ? posting.operator_id : tap.operator_id;
    transfer.route = tap.route;
    transfer.location = tap.location;
    out.push_back(transfer);
  }
  return Status::ok();
}

void Shard::note_listing(Item& item, CardEntry& entry) {
  bool listed = entry.record.status != CardStatus::active || entry.wallet->balance_minor < 0;
  if (listed == entry.denied) return;
  entry.denied = listed;
  item.deny_after = listed;
  item.group.records.push_back(deny_record(entry.record.card, listed));
}

void Shard::give_back_offline(Item& item) {
  if (item.offline_spent_minor == 0) return;
  const TapId id = item.tap.tap.id;
  context_.readers.give_back_offline(id.reader, item.offline_day, item.offline_spent_minor);
  std::int64_t& share = offline_shares_[{id.reader.value, item.offline_day}];
  share = share > item.offline_spent_minor ? share - item.offline_spent_minor : 0;
  item.offline_spent_minor = 0;
}

namespace {

// An uploaded offline tap the engine would not rate, kept for the card
// office (`citycard review`): RecordSpace::engine, "review/" + the tap's key.
ledger::RecordWrite review_record(const IdempotencyKey& key, const Tap& tap, RefusalReason reason) {
  nlohmann::json why = {{"tap", key.to_string()},
                        {"card", tap.card.to_string()},
                        {"event_time_us", tap.event_time.unix_us},
                        {"mode", std::string(mode_name(tap.mode))},
                        {"operator", tap.operator_id.value},
                        {"route", tap.route},
                        {"location", tap.location},
                        {"amount_minor", tap.amount_minor},
                        {"reason", std::string(refusal_reason_name(reason))}};
  return ledger::RecordWrite{ledger::RecordSpace::engine, std::string(review_record_prefix) + key.to_string(), why.dump()};
}

}  // namespace

void Shard::build_refusal_record(Item& item, RefusalReason reason) {
  const Tap& tap = item.tap.tap;
  give_back_offline(item);
  item.group = {};
  item.group.key = item.key;
  item.card = CardId();
  item.deny_after.reset();
  protocol::DecisionRecord& decision = item.decision;
  decision = {};
  decision.tap = tap.id;
  decision.outcome = protocol::Outcome::refused;
  decision.reason = reason;
  if (const CardEntry* found = cards_.find(tap.card)) {
    decision.balance_after_minor = found->wallet->balance_minor;
    decision.points_after = found->points->balance_minor;
    if (found->denied) decision.flags |= protocol::DecisionFlags::deny_listed;
  }
  if (tap.offline && reason == RefusalReason::event_time_invalid) {
    decision.flags |= protocol::DecisionFlags::review;
    item.group.records.push_back(review_record(item.key, tap, reason));
  }
  item.group.outcome = encode_decision(decision, tap.offline);
}

void Shard::rate_tap(Item& item) {
  const Tap& tap = item.tap.tap;
  give_back_offline(item);  // rated again after a reload: its offline money is taken anew
  if (item.admission.refusal != RefusalReason::none) {
    build_refusal_record(item, item.admission.refusal);
    return;
  }
  CardEntry* entry = find_card(tap.card);
  if (entry == nullptr) {
    build_refusal_record(item, RefusalReason::card_unknown);
    return;
  }
  // The card's proof of this whole tap (shard_proof.cpp).
  std::optional<std::uint32_t> proven_atc;
  if (auto refusal = check_proof(item, *entry, proven_atc)) {
    build_refusal_record(item, *refusal);
    return;
  }

  const rules::CardState before = card_state(*entry);
  const rules::Rating rating = rules::rate(context_.rule_set, before, tap);

  item.group = {};
  item.group.key = item.key;
  protocol::DecisionRecord& decision = item.decision;
  decision = {};
  decision.tap = tap.id;
  if (!rating.approved()) {
    item.card = CardId();
    decision.outcome = protocol::Outcome::refused;
    decision.reason = rating.refusal;
    decision.balance_after_minor = before.wallet_minor;
    decision.points_after = before.points;
    if (entry->denied) decision.flags |= protocol::DecisionFlags::deny_listed;
    item.group.outcome = encode_decision(decision, tap.offline);
    return;
  }
  if (Status resolved = resolve(rating, tap, entry->record, item.group.transfers); !resolved) {
    // The rule set names an operator the ledger has not registered.
    context_.log.event("operator_unresolved", {{"tap", item.group.key.to_string()}, {"error", resolved.to_string()}});
    build_refusal_record(item, RefusalReason::reader_not_allowed);
    return;
  }
  // Offline, the reader spends from its own allowance per business day: past
  // it the engine refuses, and the operator carries the ride it gave.
  const std::int64_t wallet_charge = -rules::net_for_role(rating, AccountRole::card_wallet, Asset::twd);
  if (tap.offline && wallet_charge > 0) {
    const rules::LocalCalendar calendar(context_.rule_set.utc_offset_minutes, context_.rule_set.business_day_start_minutes);
    const std::int32_t day = calendar.business_day(tap.event_time);
    if (!context_.readers.try_spend_offline(tap.id.reader, day, wallet_charge, item.admission.offline_max_minor)) {
      build_refusal_record(item, RefusalReason::offline_limit_exceeded);
      return;
    }
    item.offline_spent_minor = wallet_charge;
    item.offline_day = day;
    const std::int64_t share = offline_shares_[{tap.id.reader.value, day}] += wallet_charge;
    item.group.records.push_back(offline_spent_record(tap.id.reader, day, index_, share));
  }
  // The card accounts change by exactly what the postings move (rules contract).
  ENGINE_CHECK(rating.state.wallet_minor - before.wallet_minor ==
         rules::net_for_role(rating, AccountRole::card_wallet, Asset::twd));
  ENGINE_CHECK(rating.state.points - before.points == rules::net_for_role(rating, AccountRole::card_points, Asset::points));

  entry->state = rules::encode_card_state(rating.state);
  entry->wallet->balance_minor = rating.state.wallet_minor;
  entry->points->balance_minor = rating.state.points;
  item.group.records.push_back({ledger::RecordSpace::card_state, card_key(tap.card), entry->state});
  if (proven_atc) {
    entry->atc.accept(*proven_atc);
    item.group.records.push_back(atc_record(tap.card, entry->atc));
  }
  note_listing(item, *entry);
  if (rating.deny_list && !entry->denied) {
    entry->denied = true;
    item.deny_after = true;
    item.group.records.push_back(deny_record(tap.card, true));
  }
  item.card = tap.card;
  ++entry->pending;

  decision.outcome = protocol::Outcome::approved;
  decision.reason = RefusalReason::none;
  decision.fare_minor = rating.fare_minor;
  decision.balance_after_minor = rating.balance_after_minor;
  decision.points_after = rating.points_after;
  if (tap.offline && rating.balance_after_minor < 0) decision.flags |= protocol::DecisionFlags::debt;
  if (entry->denied) decision.flags |= protocol::DecisionFlags::deny_listed;
  item.group.outcome = encode_decision(decision, tap.offline);
}

}  // namespace citycard::engine
