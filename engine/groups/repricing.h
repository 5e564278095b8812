// Overnight repricing: at the close of business day D, each account's taps
// of D are rated again in event-time order, and what each tap posted as it
// arrived is corrected to what it costs in that order. Readers answer in
// milliseconds, in arrival order; offline buses upload late and out of
// order; so two taps of one card can be rated in either order, with a
// different transfer discount, cap or points use. After repricing, a day's
// money (and its settlement files: settlement/assign.h merges each
// correction into its tap's line) depends only on the set of taps received.
//
// The replay of an account's day:
// - opens on the account's canonical state: the state its last repriced day
//   ended in (a record of this space), or a fresh state if it has none;
// - takes the day's approved tap records (tap_records.h) of the account,
//   sorted by (event time, reader, sequence), each rated by the rule set
//   version in force at its time, with the card's category on the day;
// - keeps each tap's decision: the wallet is taken as unlimited (a balance
//   refusal was the arrival order's, the ride was given), auto top-ups are
//   facts and are not priced again, and a tap the replay would refuse keeps
//   the money it posted. A tap refused online stays refused.
// A tap's correction is canonical minus posted (its own group and any
// correction posted before), netted per (accounts, asset, code, operator),
// posted as group rpt:R:S (rps:R:S for a service-given tap) through the
// account's shard (AdminAction::reprice), so the card's mirrors move with it.
//
// Records (RecordSpace::reprice):
//   "s" account key card bytes  -> day:i32 BE, encoded CardState (canonical end of that day)
//   "x" day:u32 BE (+2^31) correction key text -> paying card account:u64 BE, or empty
//       (the corrections of that day; settlement folds each into its tap's line)
//   "o" day:u32 BE (+2^31) account card bytes -> encoded CardState: the
//       state the replay of that day opened on (account_replay.h), so that
//       "why was I charged this?" can replay a closed day (tap_explanation.h)
//   "m" -> day:u32 BE (+2^31): the first day repriced. A ledger's first close
//        writes it: that day, when no tap record is older (every account
//        without an "s" record is then fresh), else the next day, after
//        copying every account's state as it is into "s" records.
// The "s" and "o" records of day D are written in the close's own write, with the
// close record: a close that fails leaves the day to be repriced again,
// which finds the corrections already posted and posts nothing more.
//
// Not repriced (docs/settlement.md "Repricing"): an account with no tap
// record account (an anonymised record), a tap of day D posted after the
// plan's snapshot (still in flight at the close: it keeps its arrival price
// and its effect on the next day's opening state is lost), taps arriving
// after their day closed (late lines of a later close).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "admin_command.h"
#include "citycard/status.h"
#include "ledger/ledger.h"
#include "ledger/system_accounts.h"
#include "rule_book.h"
#include "settlement/business_day.h"

#include <nlohmann/json.hpp>
#include <optional>

namespace citycard::engine {

struct RepricePlan {
  std::int32_t business_day = 0;
  // One AdminAction::reprice per tap whose money changes, by account.
  std::vector<AdminCommand> corrections;
  // The accounts' canonical states at the end of the day ("s" records) and
  // the states their replay opened on ("o" records), for the close's write.
  std::vector<ledger::RecordWrite> canonical_states;
  std::uint64_t accounts = 0;          // accounts with approved taps that day
  std::uint64_t taps = 0;              // approved taps replayed
  std::uint64_t taps_repriced = 0;     // taps with a correction
  std::int64_t riders_net_minor = 0;   // what the corrections give riders' wallets (negative: debt)
};

// The key of the correction of `tap_key` (tap: or svc:), and back.
IdempotencyKey repricing_key(const IdempotencyKey& tap_key);
std::optional<IdempotencyKey> repriced_tap_key(const IdempotencyKey& correction_key);
// The "x" record of a correction (citycard/repricing_keys.h).
// Its value names the card account paying in the repriced tap (the line's
// card token, settlement/assign.h), empty when no card pays.
ledger::RecordWrite correction_index_record(std::int32_t business_day, const IdempotencyKey& correction_key,
                                            AccountId paying_card);

// The first business day repriced ("m"); nullopt before the ledger's first
// repriced close. Corruption for a damaged record.
Result<std::optional<std::int32_t>> repricing_start_day(const ledger::Snapshot& snapshot);

// The plan for `business_day`, from the tap records, states and groups in
// `snapshot`. Reads only.
Result<RepricePlan> plan_repricing(const ledger::Snapshot& snapshot,
                                   const rules::RuleBook& rules, const ledger::SystemAccounts& system,
                                   std::int32_t business_day);

// Posts a plan's corrections: each one through whatever carries card
// actions (the engine's shards, or the CLI's builder on a stopped ledger),
// and answers when all are durable or one failed.
using ApplyCorrections = std::function<Status(std::vector<AdminCommand> corrections)>;

// What the close reports of its repricing.
struct RepriceOutcome {
  RepricePlan plan;  // corrections moved out once applied
  // The ledger's first repriced close, of a ledger with taps of earlier
  // days: the accounts whose states became canonical, nothing repriced.
  std::uint64_t migrated = 0;
  std::string summary() const;
};

// The close's hook (settlement::Options::before_close): reprices the day
// with `reprice`, keeps what it did in `outcome`, and gives the canonical
// states to the close's write.
std::function<Result<std::vector<ledger::RecordWrite>>(settlement::BusinessDay)> repricing_before_close(
    std::function<Result<RepriceOutcome>(std::int32_t)> reprice, std::optional<RepriceOutcome>& outcome);
// What the close answers about it (the "repricing" object of settle close --json).
nlohmann::json repricing_json(const RepriceOutcome& outcome);

// Plans `business_day` on a snapshot of `ledger` and applies it.
Result<RepriceOutcome> reprice_day(ledger::Ledger& ledger, const rules::RuleBook& rules,
                                   const ledger::SystemAccounts& system, std::int32_t business_day,
                                   const ApplyCorrections& apply);

// Posts corrections on a stopped ledger (the CLI's close), through the same
// group builder the engine's shards use.
Status post_corrections_in_ledger(ledger::Ledger& ledger, const ledger::SystemAccounts& system,
                                  std::vector<AdminCommand> corrections);

}  // namespace citycard::engine
