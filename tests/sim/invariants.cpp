#include "invariants.h"

#include "decision_codec.h"

namespace citycard::sim {
namespace {

std::string describe(const protocol::DecisionRecord& decision) {
  return std::string(decision.outcome == protocol::Outcome::approved ? "approved" : "refused") + " reason " +
         std::to_string(static_cast<int>(decision.reason)) + " fare " + std::to_string(decision.fare_minor) +
         " balance " + std::to_string(decision.balance_after_minor) + " points " + std::to_string(decision.points_after) +
         " flags " + std::to_string(decision.flags);
}

// The decision stored under `key`, if one is.
Result<std::optional<protocol::DecisionRecord>> stored_decision(const ledger::Ledger& ledger, const IdempotencyKey& key) {
  auto posted = ledger.posted(key);
  if (!posted) return posted.status();
  if (!posted->has_value()) return std::optional<protocol::DecisionRecord>();
  auto stored = engine::decode_stored_decision((*posted)->outcome);
  if (!stored) return stored.status();
  return std::optional<protocol::DecisionRecord>(stored->decision);
}

}  // namespace

std::optional<std::string> Invariants::check(const ledger::Ledger& ledger, Observed& observed, bool everything) {
  if (auto broken = scan_log(ledger)) return broken;
  if (auto broken = check_balances(ledger)) return broken;
  ++checks_;
  ledger::VerifyReport report = ledger.verify();
  if (!report.ok()) {
    return "verify: " + report.problems.front().kind + ": " + report.problems.front().detail + " (" +
           std::to_string(report.problems.size()) + " problems)";
  }
  if (everything) {
    for (const auto& [key, tap] : observed.taps) {
      if (auto broken = check_tap(ledger, tap)) return broken;
    }
    for (const auto& [key, action] : observed.actions) {
      if (auto broken = check_action(ledger, action)) return broken;
    }
  } else {
    for (const TapKey& key : observed.newly_heard_taps) {
      if (auto broken = check_tap(ledger, observed.taps.at(key))) return broken;
    }
    for (const IdempotencyKey& key : observed.newly_heard_actions) {
      if (auto broken = check_action(ledger, observed.actions.at(key))) return broken;
    }
  }
  observed.newly_heard_taps.clear();
  observed.newly_heard_actions.clear();
  return std::nullopt;
}

std::optional<std::string> Invariants::scan_log(const ledger::Ledger& ledger) {
  checks_ += 2;
  const std::uint64_t last = ledger.last_sequence();
  if (last < scanned_) {
    return "log_kept: the ledger's log ends at " + std::to_string(last) + ", but transfers up to " +
           std::to_string(scanned_) + " were durable";
  }
  if (last == scanned_) return std::nullopt;
  auto snapshot = ledger.snapshot();
  std::optional<std::string> broken;
  std::uint64_t expected = scanned_ + 1;
  Status scanned = snapshot->scan_transfers(scanned_ + 1, last, [&](const ledger::StoredTransfer& stored) {
    if (stored.sequence != expected) {
      broken = "log_kept: transfer " + std::to_string(expected) + " is missing";
      return false;
    }
    ++expected;
    if (stored.leg == 0 && !groups_.insert(stored.key).second) {
      broken = "once: " + stored.key.to_string() + " posted twice (again at transfer " + std::to_string(stored.sequence) + ")";
      return false;
    }
    const Transfer& transfer = stored.transfer;
    balances_[transfer.debit_account.value] -= transfer.amount_minor;
    balances_[transfer.credit_account.value] += transfer.amount_minor;
    return true;
  });
  if (broken) return broken;
  if (!scanned) return "log_kept: the log cannot be read: " + scanned.to_string();
  if (expected != last + 1) return "log_kept: the log stops at " + std::to_string(expected - 1) + " of " + std::to_string(last);
  scanned_ = last;
  return std::nullopt;
}

std::optional<std::string> Invariants::check_balances(const ledger::Ledger& ledger) {
  checks_ += 2;
  std::map<Asset, std::int64_t> sums;
  const std::uint64_t accounts = ledger.account_count();
  for (std::uint64_t id = 1; id <= accounts; ++id) {
    auto account = ledger.account(AccountId{id});
    if (!account) return "replay: account " + std::to_string(id) + " of " + std::to_string(accounts) + " is missing";
    sums[account->spec.asset] += account->balance_minor;
    auto replayed = balances_.find(id);
    const std::int64_t expected = replayed == balances_.end() ? 0 : replayed->second;
    if (account->balance_minor != expected) {
      return "replay: account " + std::to_string(id) + " holds " + std::to_string(account->balance_minor) +
             ", its transfers add up to " + std::to_string(expected);
    }
  }
  for (const auto& [asset, sum] : sums) {
    if (sum != 0) return "asset_sum: asset " + std::to_string(static_cast<int>(asset)) + " sums to " + std::to_string(sum);
  }
  return std::nullopt;
}

std::optional<std::string> Invariants::check_tap(const ledger::Ledger& ledger, const SeenTap& tap) {
  if (!tap.heard) return std::nullopt;
  ++checks_;
  const TapId id = tap.record.tap.id;
  auto stored = stored_decision(ledger, IdempotencyKey::for_tap(id));
  if (!stored) return "decided: tap " + IdempotencyKey::for_tap(id).to_string() + ": " + stored.status().to_string();
  if (stored->has_value() && **stored == *tap.heard) return std::nullopt;
  // Refused online, then uploaded as given offline: charged under its own key.
  auto given = stored_decision(ledger, IdempotencyKey::for_service_given(id));
  if (given && given->has_value() && **given == *tap.heard) return std::nullopt;
  if (!stored->has_value()) {
    return "decided: tap " + IdempotencyKey::for_tap(id).to_string() + " was answered " + describe(*tap.heard) +
           " but is not in the ledger";
  }
  return "decided: tap " + IdempotencyKey::for_tap(id).to_string() + " was answered " + describe(*tap.heard) +
         " but the ledger holds " + describe(**stored);
}

std::optional<std::string> Invariants::check_action(const ledger::Ledger& ledger, const SeenAction& action) {
  if (!action.heard || !action.heard->status.is_ok() || action.heard->pending) return std::nullopt;
  ++checks_;
  auto posted = ledger.posted(action.command.key);
  if (!posted) return "decided: action " + action.command.key.to_string() + ": " + posted.status().to_string();
  if (!posted->has_value()) {
    return "decided: action " + action.command.key.to_string() + " was answered done but is not in the ledger";
  }
  return std::nullopt;
}

}  // namespace citycard::sim
