// The invariants the simulator holds the ledger to after every step and at
// the end. Each returns the first one broken, in words; the simulator prints
// it with the seed and the step.
//
// - log_kept: a transfer once visible (durable) never disappears, across
//   crashes and power losses;
// - once: no posting group's key is in the log twice (a tap, an action, a
//   resend posted once);
// - replay: every account's balance is what its transfers add up to
//   (replayed here from the log, incrementally);
// - asset_sum: the balances of each asset sum to zero;
// - verify: the ledger's own verify() finds nothing;
// - decided: every tap whose decision a reader heard is in the ledger with
//   exactly that decision (a resend heard the same one); every card-office
//   action answered done is in the ledger under its reference.
// A tap sent but not answered before a crash may be in the ledger or not;
// `once` makes sure it is not there twice.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "ledger/ledger.h"
#include "observed.h"

namespace citycard::sim {

class Invariants {
 public:
  // Checks the ledger after a step; `everything`: every tap and action heard
  // so far, not only those heard since the last check (after a restart, at
  // the end). nullopt when all hold.
  std::optional<std::string> check(const ledger::Ledger& ledger, Observed& observed, bool everything);
  // Invariant evaluations done (one per invariant per check, plus one per tap
  // or action looked up).
  std::uint64_t checks() const { return checks_; }
  // The balances replayed from the log: account id -> balance.
  const std::map<std::uint64_t, std::int64_t>& balances() const { return balances_; }

 private:
  std::optional<std::string> scan_log(const ledger::Ledger& ledger);
  std::optional<std::string> check_balances(const ledger::Ledger& ledger);
  std::optional<std::string> check_tap(const ledger::Ledger& ledger, const SeenTap& tap);
  std::optional<std::string> check_action(const ledger::Ledger& ledger, const SeenAction& action);

  std::uint64_t scanned_ = 0;                    // the log is replayed up to here
  std::map<std::uint64_t, std::int64_t> balances_;
  std::set<IdempotencyKey> groups_;              // every group key met in the log
  std::uint64_t checks_ = 0;
};

}  // namespace citycard::sim
