#include "tap_explanation.h"

#include <fmt/format.h>

#include "account_replay.h"
#include "explain.h"
#include "rule_set_loader.h"
#include "repricing.h"
#include "tap_adjustments.h"

namespace citycard::engine {
namespace {

std::string twd(std::int64_t minor) { return fmt::format("{} TWD", minor); }

IdempotencyKey group_of(const RecordedTap& record) {
  return record.origin == Origin::service_given ? IdempotencyKey::for_service_given(record.tap.id)
                                                : IdempotencyKey::for_tap(record.tap.id);
}

// The tap's records (its own, and a service-given one made for it later):
// one key lookup per business day the records hold.
Result<std::vector<RecordedTap>> find_records(const ledger::Snapshot& snapshot, TapId tap) {
  std::vector<RecordedTap> found;
  std::string from;
  for (;;) {
    std::optional<std::int32_t> day;
    bool any = false;
    Status scanned = snapshot.scan_records_from(ledger::RecordSpace::tap_records, "", from,
                                                [&](std::string_view key, std::string_view) {
                                                  any = true;
                                                  day = tap_record_key_day(key);
                                                  return false;
                                                });
    if (!scanned) return scanned;
    if (!any) return found;
    if (!day) return Status::corruption("a tap record key is not " + std::to_string(tap_record_key_bytes) + " bytes");
    for (Origin origin : {Origin::tap, Origin::service_given}) {
      const std::string key = tap_record_key(*day, origin, tap);
      auto value = snapshot.record(ledger::RecordSpace::tap_records, key);
      if (!value) {
        if (value.status().code() == StatusCode::not_found) continue;
        return value.status();
      }
      auto record = decode_recorded_tap(key, *value);
      if (!record) return record.status();
      found.push_back(std::move(*record));
    }
    from = tap_records_day_end(*day);
  }
}

// The record a clerk asks about: the tap's own, unless it was refused online
// and the service was given for it later (that one holds the charge).
const RecordedTap& chosen(const std::vector<RecordedTap>& records) {
  const RecordedTap* own = nullptr;
  const RecordedTap* given = nullptr;
  for (const RecordedTap& record : records) (record.origin == Origin::service_given ? given : own) = &record;
  if (own != nullptr && (own->outcome == protocol::Outcome::approved || given == nullptr)) return *own;
  return given != nullptr ? *given : records.front();
}

// The account's approved taps with their card on record, of business days
// [first_day, last_day].
Result<std::vector<RecordedTap>> account_taps(const ledger::Snapshot& snapshot, AccountId account, std::int32_t first_day,
                                              std::int32_t last_day) {
  std::vector<RecordedTap> taps;
  const std::string end = tap_records_day_end(last_day);
  Status failure = Status::ok();
  Status scanned = snapshot.scan_records_from(
      ledger::RecordSpace::tap_records, "", tap_records_day_begin(first_day), [&](std::string_view key, std::string_view value) {
        if (key >= end) return false;
        auto record = decode_recorded_tap(key, value);
        if (!record) {
          failure = record.status();
          return false;
        }
        if (record->outcome == protocol::Outcome::approved && !record->anonymised && record->account == account)
          taps.push_back(std::move(*record));
        return true;
      });
  if (!scanned) return scanned;
  if (!failure) return failure;
  return taps;
}

const rules::RuleSet* version_in_book(const rules::RuleBook& book, std::uint32_t version) {
  for (const auto& installed : book.versions())
    if (installed.rules->version == version) return installed.rules.get();
  return nullptr;
}

// What the ledger's correction of the tap (if any) moved on the card.
Status read_correction(const ledger::Snapshot& snapshot, const RecordedTap& record, TapExplanation& out) {
  const IdempotencyKey key = repricing_key(group_of(record));
  auto transfers = snapshot.transfers_for(key);
  if (!transfers) return transfers.status().code() == StatusCode::not_found ? Status::ok() : transfers.status();
  auto card = snapshot.card_of_account(record.account);
  if (!card) return card.status();
  out.correction_key = key.to_string();
  for (const auto& stored : *transfers) {
    const Transfer& t = stored.transfer;
    if (t.debit_account == card->wallet_account) out.correction_fare_minor += t.amount_minor;
    if (t.credit_account == card->wallet_account) out.correction_fare_minor -= t.amount_minor;
    if (t.debit_account == card->points_account) out.correction_points += t.amount_minor;
    if (t.credit_account == card->points_account) out.correction_points -= t.amount_minor;
  }
  return Status::ok();
}

// Where the replay opens and which taps it rates, in order.
struct ReplayPlan {
  rules::CardState state;
  std::vector<RecordedTap> taps;
};

Result<ReplayPlan> plan_closed_day(const ledger::Snapshot& snapshot, const CardRecord& account, const RecordedTap& record,
                                   TapExplanation& out) {
  const std::int32_t day = record.business_day;
  auto opening = read_opening_state(snapshot, day, account.card);
  if (!opening) return opening.status();
  if (!opening->has_value()) {
    return Status::refused(fmt::format(
        "the close of {} repriced this tap's account, but the state it opened the account on was not kept (closed "
        "before explanations kept it, or pruned with the day's records): the tap cannot be replayed; the ledger holds "
        "{} charged on arrival{}",
        rules::format_date_days(day), twd(out.charged_fare_minor),
        out.correction_key.empty() ? std::string(", no correction")
                                   : fmt::format(" and correction {} of {:+} TWD", out.correction_key, out.correction_fare_minor)));
  }
  ReplayPlan plan{replay_start(account, (*opening)->state), {}};
  auto taps = account_taps(snapshot, record.account, day, day);
  if (!taps) return taps.status();
  plan.taps = std::move(*taps);
  // The close replayed the taps it found; the account's taps go through one
  // shard, so those are the first in arrival order and the rest came after.
  const std::optional<std::uint32_t> replayed = (*opening)->taps_replayed;
  if (replayed && plan.taps.size() > *replayed) {
    sort_in_arrival_order(plan.taps);
    for (auto late = plan.taps.begin() + *replayed; late != plan.taps.end(); ++late)
      if (late->origin == record.origin && late->tap.id == record.tap.id) out.arrived_after_close = true;
    out.taps_after_close = plan.taps.size() - *replayed;
    if (out.arrived_after_close) out.taps_before = *replayed;
    plan.taps.resize(*replayed);
  }
  sort_in_event_order(plan.taps);
  out.order = ReplayOrder::event;
  out.day_closed = true;
  out.opened_on_day = day;
  return plan;
}

Result<ReplayPlan> plan_open_day(const ledger::Snapshot& snapshot, const CardRecord& account, const RecordedTap& record,
                                 const std::optional<CanonicalState>& canonical, std::optional<std::int32_t> repriced_from,
                                 TapExplanation& out) {
  const std::int32_t day = record.business_day;
  ReplayPlan plan;
  std::int32_t first_day = day;
  if (canonical && canonical->ended_day < day) {
    plan.state = replay_start(account, canonical->state);
    first_day = canonical->ended_day + 1;
  } else {
    // No canonical state before the day: the account was fresh when
    // repricing started (it had no taps on a repriced day), or repricing
    // has not started for this day and the card is replayed from the
    // first day the records hold.
    plan.state = replay_start(account, {});
    out.opened_fresh = true;
    if (repriced_from && *repriced_from <= day && !canonical) {
      first_day = *repriced_from;
    } else {
      auto first = first_tap_record_day(snapshot);
      if (!first) return first.status();
      first_day = first->value_or(day);
    }
  }
  auto taps = account_taps(snapshot, record.account, first_day, day);
  if (!taps) return taps.status();
  plan.taps = std::move(*taps);
  sort_in_arrival_order(plan.taps);
  out.order = ReplayOrder::arrival;
  out.day_closed = false;
  out.opened_on_day = first_day;
  return plan;
}

Status replay(const rules::RuleBook& rules, const CardRecord& account, const RecordedTap& record, ReplayPlan plan,
              TapExplanation& out) {
  rules::CardState state = plan.state;
  for (const RecordedTap& tap : plan.taps) {
    // The close rates with the version in force at the tap's time; the
    // engine rated with the one it recorded.
    const rules::RuleSet* rule_set = &rules.for_time(tap.tap.event_time);
    if (out.order == ReplayOrder::arrival && tap.rule_set_version != 0) {
      rule_set = version_in_book(rules, tap.rule_set_version);
      if (rule_set == nullptr) {
        return Status::not_found(fmt::format("rule set version {} rated {} but the ledger does not hold it",
                                             tap.rule_set_version, group_of(tap).to_string()));
      }
    }
    const bool target = tap.origin == record.origin && tap.tap.id == record.tap.id;
    ReplayedTap replayed = replay_tap(*rule_set, account, tap.business_day, state, tap.tap);
    if (!target) {
      ++out.taps_before;
      continue;
    }
    out.rule_set_version = rule_set->version;
    out.tap_text = rules::describe_tap(*rule_set, tap.tap);
    out.steps = rules::explain_notes(*rule_set, replayed.before, replayed.rating);
    out.replay_approved = replayed.rating.approved();
    if (!out.replay_approved) {
      out.replay_refusal = std::string(rules::refusal_name(replayed.rating.refusal));
      return Status::ok();
    }
    out.replay_fare_minor = replayed.rating.fare_minor;
    out.replay_subsidy_minor = rules::city_net(replayed.rating);
    out.replay_points = replayed.rating.points_spent;
    return Status::ok();
  }
  return Status::corruption("the tap's own record was not among its account's taps of the day");
}

void add_remarks(const RecordedTap& record, TapExplanation& out) {
  const std::string day = rules::format_date_days(record.business_day);
  if (!out.replay_approved) {
    out.remarks.push_back(fmt::format("the replay would refuse it ({}); the tap keeps the {} it was charged",
                                      out.replay_refusal, twd(out.ledger_fare_minor)));
    out.agrees = false;
    return;
  }
  if (out.day_closed) {
    out.agrees = out.replay_fare_minor == out.ledger_fare_minor;
    if (!out.correction_key.empty() && (out.correction_fare_minor != 0 || out.correction_points != 0)) {
      out.remarks.push_back(fmt::format("charged {} on arrival, repriced to {} at the close of {}: correction {}",
                                        twd(out.charged_fare_minor), twd(out.ledger_fare_minor), day, out.correction_key));
    } else if (!out.correction_key.empty()) {
      out.remarks.push_back(fmt::format(
          "charged {} on arrival; the close of {} kept the rider's fare and moved the city's share: correction {}",
          twd(out.charged_fare_minor), day, out.correction_key));
    } else {
      out.remarks.push_back(fmt::format("charged {} on arrival; the close of {} repriced the day in event order and kept it",
                                        twd(out.charged_fare_minor), day));
    }
    if (record.rule_set_version != 0 && record.rule_set_version != out.rule_set_version) {
      out.remarks.push_back(fmt::format("rated on arrival by rule set version {}; the close used version {}, in force at the tap's time",
                                        record.rule_set_version, out.rule_set_version));
    }
  } else {
    out.agrees = out.replay_fare_minor == out.ledger_fare_minor && out.replay_points == out.charged_points &&
                 out.replay_subsidy_minor == out.charged_subsidy_minor;
    out.remarks.push_back(fmt::format("{} is not closed yet: the close may still reprice this tap in event order", day));
  }
  if (!out.agrees) {
    out.remarks.push_back(fmt::format(
        "the replay does not match the ledger: it gives {} ({} points, city {}), the ledger holds {} ({} points{}); "
        "the steps above are the replay's",
        twd(out.replay_fare_minor), out.replay_points, twd(out.replay_subsidy_minor), twd(out.ledger_fare_minor),
        out.charged_points + out.correction_points,
        out.day_closed ? std::string() : ", city " + twd(out.charged_subsidy_minor)));
  }
}

// The close of the tap's day replayed the account without it: it arrived
// after (an offline reader's late upload) and keeps what it was charged.
void explain_late_arrival(const RecordedTap& record, TapExplanation& out) {
  const std::string day = rules::format_date_days(record.business_day);
  out.rule_set_version = record.rule_set_version;
  out.steps.push_back(fmt::format("arrived after the close of {}: rated on arrival by rule set version {}, not repriced",
                                  day, record.rule_set_version));
  out.remarks.push_back(fmt::format(
      "the close of {} repriced the account's {} other tap{} of the day without it; it keeps the {} charged on "
      "arrival and is settled as a late line of a later close",
      day, out.taps_before, out.taps_before == 1 ? "" : "s", twd(out.charged_fare_minor)));
  out.agrees = out.correction_key.empty();
}

// The remark on taps of a closed day that are not in its replay.
void remark_late_taps(const RecordedTap& record, TapExplanation& out) {
  if (out.taps_after_close == 0 || out.arrived_after_close) return;
  out.remarks.push_back(fmt::format("{} tap{} of the account arrived after the close of {} and {} not in its replay",
                                    out.taps_after_close, out.taps_after_close == 1 ? "" : "s",
                                    rules::format_date_days(record.business_day),
                                    out.taps_after_close == 1 ? "is" : "are"));
}

}  // namespace

std::optional<TapId> parse_explained_tap(std::string_view text) {
  for (std::string_view prefix : {"tap:", "svc:", "rpt:", "rps:"}) {
    if (text.substr(0, prefix.size()) == prefix) {
      text.remove_prefix(prefix.size());
      break;
    }
  }
  if (text.empty() || text.find(':') == std::string_view::npos) return std::nullopt;
  return parse_tap_reference(text);
}

Result<TapExplanation> explain_recorded_tap(const ledger::Snapshot& snapshot, const rules::RuleBook& rules, TapId tap) {
  const std::string name = fmt::format("{}:{}", tap.reader.value, tap.sequence);
  auto records = find_records(snapshot, tap);
  if (!records) return records.status();
  if (records->empty())
    return Status::not_found("no tap record of " + name + " (never decided, or deleted by the records' retention)");
  TapExplanation out;
  out.record = chosen(*records);
  const RecordedTap& record = out.record;
  const rules::RuleSet& at_time = rules.for_time(record.tap.event_time);
  out.tap_text = rules::describe_tap(at_time, record.tap);
  out.local_time = rules::local_time_text(at_time, record.tap.event_time);
  out.charged_fare_minor = record.fare_minor;
  out.charged_subsidy_minor = record.subsidy_minor;
  out.charged_points = record.points_redeemed;
  out.ledger_fare_minor = record.fare_minor;
  if (record.outcome != protocol::Outcome::approved) {
    out.refused = true;
    out.refusal = std::string(rules::refusal_name(record.reason));
    out.steps.push_back("refused: " + out.refusal + "; no money moved");
    out.remarks.push_back("a refused tap is not rated: nothing was charged");
    out.agrees = true;
    return out;
  }
  if (record.anonymised) {
    return Status::refused(fmt::format(
        "tap {} of {} was anonymised by the records' retention: its card is no longer on record, so its account "
        "cannot be replayed (it charged {})",
        name, rules::format_date_days(record.business_day), twd(record.fare_minor)));
  }
  auto card = snapshot.card_of_account(record.account);
  if (!card) return card.status();
  const CardRecord account = *card;
  if (account.wallet_account != record.account) {
    return Status::refused(fmt::format("the account that paid tap {} has moved since (link, unlink or merge): its taps "
                                       "are no longer one card's, and cannot be replayed",
                                       name));
  }
  if (Status s = read_correction(snapshot, record, out); !s) return s;
  out.ledger_fare_minor = out.charged_fare_minor + out.correction_fare_minor;

  auto canonical = read_canonical_state(snapshot, account.card);
  if (!canonical) return canonical.status();
  auto repriced_from = repricing_start_day(snapshot);
  if (!repriced_from) return repriced_from.status();
  const bool closed = canonical->has_value() && (*canonical)->ended_day >= record.business_day &&
                      repriced_from->has_value() && **repriced_from <= record.business_day;
  auto plan = closed ? plan_closed_day(snapshot, account, record, out)
                     : plan_open_day(snapshot, account, record, *canonical, *repriced_from, out);
  if (!plan) return plan.status();
  if (out.arrived_after_close) {
    explain_late_arrival(record, out);
  } else {
    if (Status s = replay(rules, account, record, std::move(*plan), out); !s) return s;
    add_remarks(record, out);
    remark_late_taps(record, out);
  }
  // A clerk's adjustment naming the tap moved money after it too.
  auto adjusted = snapshot.record(ledger::RecordSpace::engine, tap_adjusted_key(record.tap.id));
  if (adjusted) {
    auto decoded = decode_tap_adjusted(record.tap.id, *adjusted);
    if (!decoded) return decoded.status();
    out.remarks.push_back(fmt::format("the card office adjusted this tap since: {} credited, {} debited (citycard history)",
                                      twd(decoded->credited_minor()), twd(decoded->debited_minor())));
  } else if (adjusted.status().code() != StatusCode::not_found) {
    return adjusted.status();
  }
  return out;
}

}  // namespace citycard::engine
