// Retention of tap records (tap_records.h): records of business days older
// than a configured period are anonymised -- the card replaced by its keyed
// token (tap_token.h), the account cleared -- and older still, deleted.
// The admin op `records_retain` (engine running) and `citycard records
// retain` on a stopped ledger both run apply_tap_retention.
//
// A record of business day D is, on business day `today`:
//   deleted     when D < today - keep_days             (keep_days > 0)
//   anonymised  when D < today - anonymise_after_days  (anonymise_after_days > 0)
// so keep_days = 30 keeps today and the 30 days before it. The repricing's
// opening states of a day (account_replay.h "o") are deleted when its
// records are first anonymised or deleted: they name the card too.
//
// Writes: Ledger::put_records in batches of at most records_per_write
// changes, each one synced write, so a crash leaves whole batches done and
// the rest as they were; running again finishes the work (already anonymised
// records are left alone, deleted ones are gone): the run is idempotent.
// Records are read from one snapshot; a record written after it (a late
// upload of an old day, kept with its card) is handled by the next run.
// Two runs at once on one ledger may undo each other's deletions of a
// record both read (one re-writes it anonymised): callers run one at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "citycard/status.h"
#include "ledger/ledger.h"
#include "office_import.h"
#include "tap_token.h"

namespace citycard::engine {

inline constexpr std::int32_t tap_retention_days_max = 36'600;  // a century: longer is "for ever", leave it unset

struct TapRetentionPolicy {
  // [records] keep_days: days a record is kept after its business day, then
  // deleted. 0: kept for ever. Default 0; 1..tap_retention_days_max when set.
  std::int32_t keep_days = 0;
  // [records] anonymise_after_days: days a record keeps its card, then it
  // holds the card's token. 0: never. Default 0; 1..tap_retention_days_max,
  // and less than keep_days when both are set.
  std::int32_t anonymise_after_days = 0;
  bool any() const { return keep_days > 0 || anonymise_after_days > 0; }
};

// invalid_argument naming the [records] key for a policy out of its ranges.
Status check_tap_retention_policy(const TapRetentionPolicy& policy);

struct TapRetentionRun {
  std::int32_t today = 0;                // the business day the periods count back from
  std::string from;                      // carry on at this key (a report's next_key); empty: from the first record
  std::size_t records_per_write = 1024;  // changes per synced write (1..limits::batch_groups_max)
  std::size_t records_per_call = 200'000;// records read before the call returns with next_key set
};

struct TapRetentionReport {
  std::optional<std::int32_t> delete_before_day;     // days before it are deleted; none: nothing is
  std::optional<std::int32_t> anonymise_before_day;  // days before it are anonymised; none: nothing is
  std::uint64_t records_read = 0;
  std::uint64_t anonymised = 0;         // anonymised by this call
  std::uint64_t already_anonymised = 0; // read, nothing to do
  std::uint64_t deleted = 0;
  // The repricing's opening states (account_replay.h) of the days before
  // the first cutoff, deleted once a call has gone through the records.
  std::uint64_t opening_states_deleted = 0;
  std::uint64_t writes = 0;             // synced writes
  std::string next_key;                 // empty: done; else call again with run.from = next_key
};

// Runs the policy over the tap records of `ledger`. `token_key` is needed
// when anything is to be anonymised (invalid_argument otherwise). With
// `actor`, each call that changed anything also writes an audit entry
// ("records retain", with its counts) in its last write. Errors: the
// ledger's write error (the batches before it are done), corruption naming
// a record due to be anonymised that does not decode.
Result<TapRetentionReport> apply_tap_retention(ledger::Ledger& ledger, const TapRetentionPolicy& policy,
                                               const TapTokenKey* token_key, const TapRetentionRun& run,
                                               const OfficeActor* actor);

// The report as the admin op and the CLI print it: {"delete_before",
// "anonymise_before" (dates or null), "records_read", "anonymised",
// "already_anonymised", "deleted", "opening_states_deleted", "writes", "next_key" (hex, "" when done)}.
nlohmann::json tap_retention_json(const TapRetentionReport& report);
// A next_key as the JSON gave it; nullopt for one that is not hex of a record key.
std::optional<std::string> tap_retention_key_from_hex(const std::string& hex);

}  // namespace citycard::engine
