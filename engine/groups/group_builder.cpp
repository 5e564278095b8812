// Taps rated into posting groups: roles resolved to accounts, the new card
// state and the decision stored with it. Card-office actions: group_actions.cpp.
#include "group_builder.h"

#include <cstdlib>

#include <nlohmann/json.hpp>

#include "calendar.h"
#include "card/cryptogram.h"
#include "card_state_codec.h"
#include "citycard/check.h"
#include "citycard/programme.h"
#include "decision_codec.h"
#include "deny_records.h"
#include "hashing.h"
#include "rating.h"
#include "tap_records.h"

namespace citycard::engine {

const Draft::Action& Draft::no_action() {
  static const Action none;
  return none;
}


CardEntry* GroupBuilder::card_or_abort(const CardId& card) {
  auto found = book_.load(card);
  if (!found) {
    // The engine cannot rate without its ledger; a restart reads it afresh.
    context_.log.event("ledger_read_failed", {{"what", "card"}, {"card", card.to_string()}, {"error", found.status().to_string()}});
    std::abort();
  }
  return *found;
}

Result<AccountId> GroupBuilder::operator_payable(OperatorId id) {
  if (auto found = operators_.find(id.value); found != operators_.end()) return found->second;
  auto record = context_.ledger.operator_record(id);
  if (!record) return record.status();
  operators_.emplace(id.value, record->payable_account);
  return record->payable_account;
}

Status resolve_postings(const rules::Rating& rating, const Tap& tap, const CardRecord& card,
                        const ledger::SystemAccounts& system,
                        const std::function<Result<AccountId>(OperatorId)>& payable_of, std::vector<Transfer>& out) {
  auto account_of = [&](AccountRole role, OperatorId operator_id) -> Result<AccountId> {
    switch (role) {
      case AccountRole::card_wallet: return card.wallet_account;
      case AccountRole::card_points: return card.points_account;
      case AccountRole::operator_payable: return payable_of(operator_id);
      case AccountRole::subsidy_budget: return system.subsidy_budget;
      case AccountRole::topup_float: return system.topup_float;
      case AccountRole::points_budget: return system.points_budget;
      case AccountRole::points_redeemed: return system.points_redeemed;
      case AccountRole::credit_card_clearing: return system.credit_card_clearing;
      case AccountRole::budget_buy_one_get_one: return system.budget_of(Programme::buy_one_get_one);
      case AccountRole::budget_category_fare: return system.budget_of(Programme::category_fare);
      case AccountRole::budget_citizen_discount: return system.budget_of(Programme::citizen_discount);
      case AccountRole::budget_transfer_discount: return system.budget_of(Programme::transfer_discount);
      case AccountRole::budget_fare_cap: return system.budget_of(Programme::fare_cap);
      case AccountRole::budget_welfare_points: return system.budget_of(Programme::welfare_points);
      case AccountRole::budget_railway: return system.budget_of(Programme::railway_subsidy);
      case AccountRole::budget_bonus_points: return system.budget_of(Programme::bonus_points);
      case AccountRole::card_bonus_points:
        // Rating gives a card without one no bonus points (CardState::bonus_account).
        if (card.bonus_points_account.value == 0)
          return Status::invalid_argument("card " + card.card.to_string() + " has no bonus points account");
        return card.bonus_points_account;
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

Status GroupBuilder::resolve(const rules::Rating& rating, const Tap& tap, const CardRecord& card, std::vector<Transfer>& out) {
  return resolve_postings(rating, tap, card, context_.system, [this](OperatorId id) { return operator_payable(id); }, out);
}

void GroupBuilder::note_listing(Draft& draft, CardEntry& entry) {
  bool listed = entry.record.status != CardStatus::active || entry.wallet->balance_minor < 0;
  if (listed == entry.denied) return;
  entry.denied = listed;
  draft.deny_after = listed;
  if (context_.serves_deny_list) draft.group.records.push_back(deny_record(entry.record.card, listed));
}

void GroupBuilder::give_back_offline(Draft& draft) {
  if (draft.offline_spent_minor == 0) return;
  CITYCARD_CHECK(context_.offline != nullptr);
  context_.offline->give_back(draft.tap.tap.id.reader, draft.offline_day, draft.offline_spent_minor);
  draft.offline_spent_minor = 0;
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

void GroupBuilder::refuse_decision(Draft& draft, RefusalReason reason) {
  const Tap& tap = draft.tap.tap;
  give_back_offline(draft);
  draft.group = {};
  draft.group.key = draft.key;
  draft.card = CardId();
  draft.deny_after.reset();
  protocol::DecisionRecord& decision = draft.decision;
  decision = {};
  decision.tap = tap.id;
  decision.outcome = protocol::Outcome::refused;
  decision.reason = reason;
  if (const CardEntry* found = book_.cached(tap.card)) {
    decision.balance_after_minor = found->wallet->balance_minor;
    decision.points_after = found->points->balance_minor;
    if (found->denied) decision.flags |= protocol::DecisionFlags::deny_listed;
  }
  if (tap.offline && reason == RefusalReason::event_time_invalid) {
    decision.flags |= protocol::DecisionFlags::review;
    draft.group.records.push_back(review_record(draft.key, tap, reason));
  }
  draft.group.outcome = encode_decision(decision, tap.offline);
}

std::optional<RefusalReason> GroupBuilder::check_proof(const Draft& draft, CardEntry& entry, std::optional<std::uint32_t>& atc) {
  const Tap& tap = draft.tap.tap;
  const protocol::Cryptogram& cryptogram = draft.tap.cryptogram;
  if (!context_.card_keys) return std::nullopt;   // proofs not checked (require_card_proof is off)
  if (cryptogram.size == 0) {
    if (context_.require_card_proof) return RefusalReason::card_not_genuine;
    return std::nullopt;
  }
  auto refuse = [&](const char* why, const std::string& detail) -> std::optional<RefusalReason> {
    context_.log.event("card_proof_refused", {{"tap", IdempotencyKey::for_tap(tap.id).to_string()},
                                              {"card", tap.card.to_string()}, {"why", why}, {"detail", detail}});
    return RefusalReason::card_not_genuine;
  };
  auto proof = card::decode_proof(card::ByteView(cryptogram.bytes.data(), cryptogram.size));
  if (!proof) return refuse("malformed", proof.status().message());
  const std::uint8_t version = proof->record.key_version;
  if (version == 0) return refuse("key_version", "key version 0");
  if (entry.key_version != version) {
    // A token call (~55 us in SoftHSM2) once per card and key version; the
    // key stays in this book's memory only.
    auto key = context_.card_keys->card_key(version, tap.card);
    if (!key) {
      const bool unknown = key.status().code() == StatusCode::not_found;
      return refuse(unknown ? "key_version_unknown" : "key_source_failed", key.status().to_string());
    }
    entry.key = *key;
    entry.key_version = version;
  }
  Status verified = card::verify_tap_proof(entry.key, tap, *proof, &cmac_);
  if (!verified) return refuse("cryptogram", verified.message());
  switch (entry.atc.check(proof->atc)) {
    case AtcWindow::Verdict::fresh: break;
    case AtcWindow::Verdict::replayed: return refuse("counter_replayed", std::to_string(proof->atc));
    case AtcWindow::Verdict::below_window:
      return refuse("counter_below_window", std::to_string(proof->atc) + " <= " + std::to_string(entry.atc.highest()) +
                                                " - " + std::to_string(AtcWindow::window_counters));
  }
  atc = proof->atc;
  return std::nullopt;
}

void GroupBuilder::decide_tap(Draft& draft) {
  const Tap& tap = draft.tap.tap;
  CITYCARD_CHECK(context_.rules != nullptr);
  const rules::RuleSet& rule_set = context_.rules->for_time(tap.event_time);
  give_back_offline(draft);  // rated again after a reload: its offline money is taken anew
  if (draft.admission.refusal != RefusalReason::none) {
    refuse_decision(draft, draft.admission.refusal);
    return;
  }
  CardEntry* entry = card_or_abort(tap.card);
  if (entry == nullptr) {
    refuse_decision(draft, RefusalReason::card_unknown);
    return;
  }
  std::optional<std::uint32_t> proven_atc;
  if (auto refusal = check_proof(draft, *entry, proven_atc)) {
    refuse_decision(draft, *refusal);
    return;
  }

  const rules::LocalCalendar calendar(rule_set.utc_offset_minutes, rule_set.business_day_start_minutes);
  const std::int32_t tap_day = calendar.business_day(tap.event_time);
  rules::CardState before = book_.state_of(*entry);
  before.category = category_on(entry->record, tap_day);  // the eligibility on the tap's own day
  const rules::Rating rating = rules::rate(rule_set, before, tap, context_.access.get());

  draft.group = {};
  draft.group.key = draft.key;
  // An approved tap writes its card state, its ATC and its tap record: one
  // allocation, not one per record as the vector grows.
  draft.group.records.reserve(3);
  draft.deny_after.reset();
  protocol::DecisionRecord& decision = draft.decision;
  decision = {};
  decision.tap = tap.id;
  if (!rating.approved()) {
    draft.card = CardId();
    decision.outcome = protocol::Outcome::refused;
    decision.reason = rating.refusal;
    decision.balance_after_minor = before.wallet_minor;
    decision.points_after = before.points;
    if (entry->denied) decision.flags |= protocol::DecisionFlags::deny_listed;
    draft.group.outcome = encode_decision(decision, tap.offline);
    return;
  }
  if (Status resolved = resolve(rating, tap, entry->record, draft.group.transfers); !resolved) {
    // The rule set names an operator the ledger has not registered.
    context_.log.event("operator_unresolved", {{"tap", draft.group.key.to_string()}, {"error", resolved.to_string()}});
    refuse_decision(draft, RefusalReason::reader_not_allowed);
    return;
  }
  // Offline, the reader spends from its own allowance per business day: past
  // it the engine refuses, and the operator carries the ride it gave.
  const std::int64_t wallet_charge = -rules::net_for_role(rating, AccountRole::card_wallet, Asset::twd);
  if (tap.offline && wallet_charge > 0) {
    CITYCARD_CHECK(context_.offline != nullptr);
    auto spent = context_.offline->try_spend(tap.id.reader, tap_day, wallet_charge, draft.admission.offline_max_minor);
    if (!spent) {
      refuse_decision(draft, RefusalReason::offline_limit_exceeded);
      return;
    }
    draft.offline_spent_minor = wallet_charge;
    draft.offline_day = tap_day;
    draft.group.records.push_back(std::move(*spent));
  }
  // The card accounts change by exactly what the postings move (rules contract).
  CITYCARD_CHECK(rating.state.wallet_minor - before.wallet_minor ==
               rules::net_for_role(rating, AccountRole::card_wallet, Asset::twd));
  CITYCARD_CHECK(rating.state.points - before.points == rules::net_for_role(rating, AccountRole::card_points, Asset::points));
  CITYCARD_CHECK(rating.state.bonus_points - before.bonus_points ==
                 rules::net_for_role(rating, AccountRole::card_bonus_points, Asset::points));

  // The account's state (media_directory.h): every medium of it rates on it.
  book_.set_state(*entry, rules::encode_card_state(rating.state));
  entry->wallet->balance_minor = rating.state.wallet_minor;
  entry->points->balance_minor = rating.state.points;
  if (entry->bonus != nullptr) entry->bonus->balance_minor = rating.state.bonus_points;
  draft.group.records.push_back({ledger::RecordSpace::card_state, card_key(account_key(entry->record)), entry->account->state});
  if (proven_atc) {
    entry->atc.accept(*proven_atc);
    draft.group.records.push_back(atc_record(tap.card, entry->atc));
  }
  note_listing(draft, *entry);
  if (rating.deny_list && !entry->denied) {
    entry->denied = true;
    draft.deny_after = true;
    draft.group.records.push_back(deny_record(tap.card, true));
  }
  draft.card = tap.card;
  book_.hold(*entry);

  decision.outcome = protocol::Outcome::approved;
  decision.reason = RefusalReason::none;
  decision.fare_minor = rating.fare_minor;
  decision.balance_after_minor = rating.balance_after_minor;
  decision.points_after = rating.points_after;
  if (tap.offline && rating.balance_after_minor < 0) decision.flags |= protocol::DecisionFlags::debt;
  if (entry->denied) decision.flags |= protocol::DecisionFlags::deny_listed;
  draft.group.outcome = encode_decision(decision, tap.offline);
}

void GroupBuilder::rate_tap(Draft& draft) {
  decide_tap(draft);
  record_tap(draft);
}

void GroupBuilder::refuse_tap(Draft& draft, RefusalReason reason) {
  refuse_decision(draft, reason);
  record_tap(draft);
}

void GroupBuilder::record_tap(Draft& draft) {
  if (!context_.record_taps) return;  // the bench's baseline only
  const Tap& tap = draft.tap.tap;
  RecordedTap record;
  record.origin = draft.key.origin;
  record.tap = tap;
  record.arrival = draft.admission.arrival;
  record.outcome = draft.decision.outcome;
  record.reason = draft.decision.reason;
  CITYCARD_CHECK(context_.rules != nullptr);
  const rules::RuleSet& rule_set = context_.rules->for_time(tap.event_time);
  record.business_day = rules::LocalCalendar(rule_set.utc_offset_minutes, rule_set.business_day_start_minutes)
                            .business_day(tap.event_time);
  if (const CardEntry* entry = book_.cached(tap.card)) {
    record.account = entry->record.wallet_account;
    record.category = static_cast<std::uint8_t>(category_on(entry->record, record.business_day));
  }
  if (draft.decision.outcome == protocol::Outcome::approved) {
    record.fare_minor = draft.decision.fare_minor;
    record.rule_set_version = rule_set.version;
    for (const Transfer& transfer : draft.group.transfers) {
      if (auto programme = programme_of(transfer.code)) {
        // Net: a programme's refund (payable -> its budget) takes back what it paid.
        const AccountId budget = context_.system.budget_of(*programme);
        if (transfer.debit_account == budget) record.subsidy_minor += transfer.amount_minor;
        if (transfer.credit_account == budget) record.subsidy_minor -= transfer.amount_minor;
      } else if (transfer.code == TransferCode::points_redeemed) {
        record.points_redeemed += transfer.amount_minor;
      }
    }
  }
  draft.group.records.push_back(tap_record_write(record));
}

}  // namespace citycard::engine
