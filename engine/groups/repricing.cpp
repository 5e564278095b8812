#include "repricing.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "account_replay.h"
#include "card_book.h"
#include "card_state_codec.h"
#include "log.h"
#include "citycard/check.h"
#include "citycard/coding.h"
#include "citycard/repricing_keys.h"
#include "group_builder.h"
#include "hashing.h"
#include "media_directory.h"
#include "rating.h"
#include "settlement/assign.h"
#include "tap_records.h"

namespace citycard::engine {
namespace {

std::uint32_t biased(std::int32_t day) { return static_cast<std::uint32_t>(day) ^ 0x80000000u; }

// A transfer's money by direction-free key: the amount is positive when it
// flows from the lower account id to the higher.
using LegKey = std::tuple<std::uint64_t, std::uint64_t, std::uint8_t, std::uint16_t, std::uint32_t>;

void add_leg(std::map<LegKey, std::int64_t>& net, const Transfer& t, std::int64_t sign) {
  const bool forward = t.debit_account.value < t.credit_account.value;
  const LegKey key{forward ? t.debit_account.value : t.credit_account.value,
                   forward ? t.credit_account.value : t.debit_account.value, static_cast<std::uint8_t>(t.asset),
                   static_cast<std::uint16_t>(t.code), t.operator_id.value};
  net[key] += sign * (forward ? t.amount_minor : -t.amount_minor);
}

// What a replay prices again. Top-ups are facts; the month's allotment and
// expiry happen once a month whichever tap carries them, and a replay that
// opened on a fresh state must not grant a month twice. Bonus points expire
// the same way (once, whichever tap carries it); their earning and spending
// are priced like any payment.
bool priced(const Transfer& t) {
  switch (t.code) {
    case TransferCode::top_up:
    case TransferCode::auto_top_up:
    case TransferCode::points_allotment:
    case TransferCode::points_expired:
    case TransferCode::bonus_points_expired: return false;
    default: return true;
  }
}

struct AccountTap {
  RecordedTap record;
  IdempotencyKey key;  // the group it posted
};

struct Replayer {
  const ledger::Snapshot& snapshot;
  const rules::RuleBook& rules;
  const ledger::SystemAccounts& system;
  std::int32_t day;
  std::unordered_map<std::uint32_t, AccountId> payables;
  RepricePlan& plan;

  Result<AccountId> payable_of(OperatorId id) const {
    auto it = payables.find(id.value);
    if (it == payables.end()) return Status::not_found(fmt::format("operator {} is not registered", id.value));
    return it->second;
  }

  Result<rules::CardState> opening_state(const CardRecord& account) const {
    auto stored = read_canonical_state(snapshot, account.card);
    if (!stored) return stored.status();
    if (!stored->has_value()) return replay_start(account, {});
    if ((*stored)->ended_day >= day) {
      return Status::refused(fmt::format("account {} was repriced up to day {} already; day {} comes before it",
                                         account.card.to_string(), (*stored)->ended_day, day));
    }
    return replay_start(account, (*stored)->state);
  }

  Status replay(std::vector<AccountTap>& taps) {
    auto card = snapshot.card_of_account(taps.front().record.account);
    if (!card) return card.status();
    const CardRecord account = *card;
    // Moved by link, unlink or merge since: its taps name another wallet.
    if (account.wallet_account != taps.front().record.account) return Status::ok();
    std::sort(taps.begin(), taps.end(), [](const AccountTap& a, const AccountTap& b) {
      return std::tuple(a.record.tap.event_time.unix_us, a.record.tap.id.reader.value, a.record.tap.id.sequence) <
             std::tuple(b.record.tap.event_time.unix_us, b.record.tap.id.reader.value, b.record.tap.id.sequence);
    });  // event order (sort_in_event_order, account_replay.h)
    auto opened = opening_state(account);
    if (!opened) return opened.status();
    rules::CardState state = *opened;
    // Kept so that a tap of this day can be explained after the close (tap_explanation.h).
    plan.canonical_states.push_back(opening_state_write(day, account.card, state, static_cast<std::uint32_t>(taps.size())));
    ++plan.accounts;
    for (AccountTap& tap : taps) {
      ++plan.taps;
      const rules::RuleSet& rule_set = rules.for_time(tap.record.tap.event_time);
      const rules::Rating rating = replay_tap(rule_set, account, day, state, tap.record.tap).rating;
      std::vector<Transfer> canonical;
      if (rating.approved()) {
        if (Status s = resolve_postings(rating, tap.record.tap, account, system,
                                        [this](OperatorId id) { return payable_of(id); }, canonical);
            !s)
          return s;
      }
      const IdempotencyKey correction = repricing_key(tap.key);
      std::vector<Transfer> posted;
      for (const IdempotencyKey& key : {tap.key, correction}) {
        auto stored = snapshot.transfers_for(key);
        if (!stored) {
          if (stored.status().code() == StatusCode::not_found) continue;
          return stored.status();
        }
        for (const auto& leg : *stored) posted.push_back(leg.transfer);
      }
      if (!rating.approved()) continue;  // the replay would refuse it: it keeps what it posted
      if (Status s = correct(tap, correction, canonical, posted); !s) return s;
    }
    plan.canonical_states.push_back(canonical_state_write(account.card, day, state));
    return Status::ok();
  }

  Status correct(const AccountTap& tap, const IdempotencyKey& correction, const std::vector<Transfer>& canonical,
                 const std::vector<Transfer>& posted) {
    std::map<LegKey, std::int64_t> net;
    std::map<std::uint32_t, std::uint16_t> canonical_flags;  // per operator: the line's flags after repricing
    for (const Transfer& t : canonical) {
      if (!priced(t)) continue;
      add_leg(net, t, +1);
      canonical_flags[t.operator_id.value] |= t.flags;
    }
    for (const Transfer& t : posted) {
      if (priced(t)) add_leg(net, t, -1);
    }
    std::erase_if(net, [](const auto& item) { return item.second == 0; });
    if (net.empty()) return Status::ok();
    const Tap& source = tap.record.tap;
    AdminCommand command;
    command.action = AdminAction::reprice;
    command.key = correction;
    command.time = source.event_time;
    command.reprice_day = day;
    command.reason = "repriced in event order at the close of the day";
    auto card = snapshot.card_of_account(tap.record.account);
    if (!card) return card.status();
    command.card = account_key(*card);
    for (const Transfer& t : canonical) {
      if (auto paying = settlement::paying_card_account(t)) {
        command.reprice_paying_card = *paying;
        break;
      }
    }
    const std::uint32_t version = rules.for_time(source.event_time).version;
    for (const auto& [key, amount] : net) {
      const auto& [low, high, asset, code, operator_id] = key;
      Transfer t;
      t.debit_account = AccountId{amount > 0 ? low : high};
      t.credit_account = AccountId{amount > 0 ? high : low};
      t.asset = static_cast<Asset>(asset);
      t.amount_minor = amount > 0 ? amount : -amount;
      t.code = static_cast<TransferCode>(code);
      t.flags = static_cast<std::uint16_t>(canonical_flags[operator_id] | transfer_flag_repriced);
      if (t.debit_account == card->wallet_account) plan.riders_net_minor -= t.amount_minor;
      if (t.credit_account == card->wallet_account) plan.riders_net_minor += t.amount_minor;
      t.rule_set_version = version;
      t.event_time = source.event_time;
      t.mode = source.mode;
      t.operator_id = OperatorId{operator_id};
      t.route = source.route;
      t.location = source.location;
      command.transfers.push_back(t);
    }
    ++plan.taps_repriced;
    plan.corrections.push_back(std::move(command));
    return Status::ok();
  }
};

}  // namespace

IdempotencyKey repricing_key(const IdempotencyKey& tap_key) {
  CITYCARD_CHECK(tap_key.origin == Origin::tap || tap_key.origin == Origin::service_given);
  return {tap_key.origin == Origin::tap ? Origin::repriced_tap : Origin::repriced_service_given, tap_key.source,
          tap_key.sequence};
}

std::optional<IdempotencyKey> repriced_tap_key(const IdempotencyKey& correction_key) {
  if (correction_key.origin == Origin::repriced_tap) return IdempotencyKey{Origin::tap, correction_key.source, correction_key.sequence};
  if (correction_key.origin == Origin::repriced_service_given)
    return IdempotencyKey{Origin::service_given, correction_key.source, correction_key.sequence};
  return std::nullopt;
}

ledger::RecordWrite correction_index_record(std::int32_t business_day, const IdempotencyKey& correction_key,
                                            AccountId paying_card) {
  std::string value;
  if (paying_card.value != 0) coding::put_be<std::uint64_t>(value, paying_card.value);
  return {ledger::RecordSpace::reprice, repricing_corrections_prefix(business_day) + correction_key.to_string(), std::move(value)};
}

Result<RepricePlan> plan_repricing(const ledger::Snapshot& snapshot,
                                   const rules::RuleBook& rules, const ledger::SystemAccounts& system,
                                   std::int32_t business_day) {
  RepricePlan plan;
  plan.business_day = business_day;
  // The day's approved taps, by account (a day of a city: about 1M records,
  // ~150 bytes each in memory).
  std::unordered_map<std::uint64_t, std::vector<AccountTap>> by_account;
  Status failure;
  Status scanned = snapshot.scan_records(
      ledger::RecordSpace::tap_records, tap_records_day_begin(business_day), [&](std::string_view key, std::string_view value) {
        auto record = decode_recorded_tap(key, value);
        if (!record) {
          failure = record.status();
          return false;
        }
        if (record->outcome != protocol::Outcome::approved || record->account.value == 0 || record->anonymised) return true;
        const IdempotencyKey group = record->origin == Origin::service_given ? IdempotencyKey::for_service_given(record->tap.id)
                                                                             : IdempotencyKey::for_tap(record->tap.id);
        by_account[record->account.value].push_back({std::move(*record), group});
        return true;
      });
  if (!scanned) return scanned;
  if (!failure) return failure;
  Replayer replayer{snapshot, rules, system, business_day, {}, plan};
  for (const auto& op : snapshot.operators()) replayer.payables.emplace(op.id.value, op.payable_account);
  // In account order, so the plan (and the corrections' order) is the same on every run.
  std::vector<std::uint64_t> accounts;
  accounts.reserve(by_account.size());
  for (const auto& [account, taps] : by_account) accounts.push_back(account);
  std::sort(accounts.begin(), accounts.end());
  for (std::uint64_t account : accounts) {
    if (Status s = replayer.replay(by_account[account]); !s) return s;
  }
  return plan;
}

std::function<Result<std::vector<ledger::RecordWrite>>(settlement::BusinessDay)> repricing_before_close(
    std::function<Result<RepriceOutcome>(std::int32_t)> reprice, std::optional<RepriceOutcome>& outcome) {
  return [reprice = std::move(reprice), &outcome](settlement::BusinessDay day) -> Result<std::vector<ledger::RecordWrite>> {
    auto done = reprice(day.days_since_epoch);
    if (!done) return done.status();
    std::vector<ledger::RecordWrite> records = std::move(done->plan.canonical_states);
    done->plan.canonical_states.clear();
    outcome = std::move(*done);
    return records;
  };
}

nlohmann::json repricing_json(const RepriceOutcome& outcome) {
  return {{"accounts", outcome.plan.accounts},       {"taps", outcome.plan.taps},
          {"taps_repriced", outcome.plan.taps_repriced}, {"riders_net_minor", outcome.plan.riders_net_minor},
          {"migrated_accounts", outcome.migrated},   {"summary", outcome.summary()}};
}

Status post_corrections_in_ledger(ledger::Ledger& ledger, const ledger::SystemAccounts& system,
                                  std::vector<AdminCommand> corrections) {
  Log log(stderr);
  CardBook book(ledger, log, /*cache_max=*/64, /*with_atc=*/false);
  BuildContext context{ledger, system, nullptr, log, nullptr};
  context.serves_deny_list = false;  // the engine lists them at its next start (group_builder.h)
  GroupBuilder builder(std::move(context), book);
  for (AdminCommand& command : corrections) {
    Draft draft;
    draft.admin() = std::move(command);
    builder.card_action(draft);
    if (!draft.admin_result().status) return draft.admin_result().status;
    if (draft.admin_result().duplicate) continue;
    auto posted = ledger.post({draft.group});
    if (!posted) return posted.status();
    if (!posted->front().posted && !posted->front().duplicate) return posted->front().reason;
    // Durable at once: the next correction reads the card again.
    book.settled(draft.admin().card);
    book.drop_account(draft.admin().card);
  }
  return Status::ok();
}

std::string RepriceOutcome::summary() const {
  if (migrated > 0)
    return fmt::format("repricing starts tomorrow: the states of {} accounts rated before it are its start", migrated);
  return fmt::format("repriced {} taps of {} accounts in event order: {} corrected, riders {:+} TWD", plan.taps,
                     plan.accounts, plan.taps_repriced, plan.riders_net_minor);
}

namespace {

const std::string since_key = "m";

}  // namespace

Result<std::optional<std::int32_t>> repricing_start_day(const ledger::Snapshot& snapshot) {
  auto since = snapshot.record(ledger::RecordSpace::reprice, since_key);
  if (!since) {
    if (since.status().code() == StatusCode::not_found) return std::optional<std::int32_t>{};
    return since.status();
  }
  if (since->size() != 4) return Status::corruption("the repricing start record is not 4 bytes");
  return std::optional<std::int32_t>{static_cast<std::int32_t>(
      coding::load_be<std::uint32_t>(reinterpret_cast<const std::uint8_t*>(since->data())) ^ 0x80000000u)};
}

Result<RepriceOutcome> reprice_day(ledger::Ledger& ledger, const rules::RuleBook& rules,
                                   const ledger::SystemAccounts& system, std::int32_t business_day,
                                   const ApplyCorrections& apply) {
  auto snapshot = ledger.snapshot();
  RepriceOutcome outcome;
  outcome.plan.business_day = business_day;
  auto since = snapshot->record(ledger::RecordSpace::reprice, since_key);
  if (!since && since.status().code() != StatusCode::not_found) return since.status();
  auto marker = [](std::int32_t day) {
    std::string value;
    coding::put_be<std::uint32_t>(value, biased(day));
    return ledger::RecordWrite{ledger::RecordSpace::reprice, since_key, std::move(value)};
  };
  if (!since) {
    // The ledger's first repriced close. Taps of earlier days were rated
    // without canonical states: their accounts' states as they are now
    // become canonical, and repricing starts with the next day.
    auto first = first_tap_record_day(*snapshot);
    if (!first) return first.status();
    if (first->has_value() && **first < business_day) {
      Status scanned = snapshot->scan_records(ledger::RecordSpace::card_state, {}, [&](std::string_view key, std::string_view value) {
        std::string state;
        coding::put_be<std::uint32_t>(state, biased(business_day));
        state.append(value);
        outcome.plan.canonical_states.push_back({ledger::RecordSpace::reprice, "s" + std::string(key), std::move(state)});
        return true;
      });
      if (!scanned) return scanned;
      outcome.migrated = outcome.plan.canonical_states.size();
      outcome.plan.canonical_states.push_back(marker(business_day + 1));
      return outcome;
    }
    outcome.plan.canonical_states.push_back(marker(business_day));
  } else if (since->size() != 4) {
    return Status::corruption("the repricing start record is not 4 bytes");
  } else if (static_cast<std::int32_t>(coding::load_be<std::uint32_t>(reinterpret_cast<const std::uint8_t*>(since->data())) ^
                                       0x80000000u) > business_day) {
    return outcome;  // before repricing started
  }
  auto plan = plan_repricing(*snapshot, rules, system, business_day);
  if (!plan) return plan.status();
  std::vector<ledger::RecordWrite> start = std::move(outcome.plan.canonical_states);
  outcome.plan = std::move(*plan);
  for (auto& record : start) outcome.plan.canonical_states.push_back(std::move(record));
  if (!outcome.plan.corrections.empty()) {
    if (Status applied = apply(std::move(outcome.plan.corrections)); !applied) return applied;
    outcome.plan.corrections.clear();
  }
  return outcome;
}

}  // namespace citycard::engine
