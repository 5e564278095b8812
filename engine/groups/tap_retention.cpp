#include "tap_retention.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>

#include "account_replay.h"
#include "audit_entry.h"
#include "citycard/check.h"
#include "citycard/limits.h"
#include "office_audit.h"
#include "rule_set_loader.h"
#include "tap_records.h"

namespace citycard::engine {
namespace {

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) out += fmt::format("{:02x}", byte);
  return out;
}

// What one call does with one record, by its business day.
enum class Due : std::uint8_t { nothing, anonymise, erase };

struct Cutoffs {
  std::optional<std::int32_t> delete_before;
  std::optional<std::int32_t> anonymise_before;

  Due due(std::int32_t day) const {
    if (delete_before && day < *delete_before) return Due::erase;
    if (anonymise_before && day < *anonymise_before) return Due::anonymise;
    return Due::nothing;
  }
  // Records at and after this day's first key are due for nothing.
  std::int32_t end_day() const {
    return std::max(delete_before.value_or(std::numeric_limits<std::int32_t>::min()),
                    anonymise_before.value_or(std::numeric_limits<std::int32_t>::min()));
  }
};

// today - days, or none for a period that is not set; clamped so that a
// far-past `today` cannot wrap.
std::optional<std::int32_t> before_day(std::int32_t today, std::int32_t days) {
  if (days <= 0) return std::nullopt;
  const std::int64_t day = static_cast<std::int64_t>(today) - days;
  return static_cast<std::int32_t>(std::max<std::int64_t>(day, std::numeric_limits<std::int32_t>::min()));
}

ledger::RecordWrite audit_write(const OfficeActor& actor, const TapRetentionReport& report) {
  auto date = [](const std::optional<std::int32_t>& day) { return day ? rules::format_date_days(*day) : std::string("-"); };
  const std::string detail =
      fmt::format("tap records: {} anonymised (days before {}), {} deleted (days before {})", report.anonymised,
                  date(report.anonymise_before_day), report.deleted, date(report.delete_before_day));
  return audit_record(office_audit_entry(actor, "records retain", detail));
}

}  // namespace

Status check_tap_retention_policy(const TapRetentionPolicy& policy) {
  const std::string range = fmt::format("1..{}", tap_retention_days_max);
  if (policy.keep_days < 0 || policy.keep_days > tap_retention_days_max) {
    return Status::invalid_argument("records.keep_days must be " + range + " days (leave it out to keep records for ever)");
  }
  if (policy.anonymise_after_days < 0 || policy.anonymise_after_days > tap_retention_days_max) {
    return Status::invalid_argument("records.anonymise_after_days must be " + range +
                                    " days (leave it out to never anonymise)");
  }
  if (policy.keep_days > 0 && policy.anonymise_after_days >= policy.keep_days) {
    return Status::invalid_argument(fmt::format(
        "records.anonymise_after_days ({}) must be less than records.keep_days ({}): a record is deleted, not "
        "anonymised, once both are due",
        policy.anonymise_after_days, policy.keep_days));
  }
  return Status::ok();
}

Result<TapRetentionReport> apply_tap_retention(ledger::Ledger& ledger, const TapRetentionPolicy& policy,
                                               const TapTokenKey* token_key, const TapRetentionRun& run,
                                               const OfficeActor* actor) {
  if (Status valid = check_tap_retention_policy(policy); !valid) return valid;
  CITYCARD_CHECK(run.records_per_write >= 1 && run.records_per_write <= limits::batch_groups_max);
  CITYCARD_CHECK(run.records_per_call >= 1);
  const Cutoffs cutoffs{before_day(run.today, policy.keep_days), before_day(run.today, policy.anonymise_after_days)};
  TapRetentionReport report;
  report.delete_before_day = cutoffs.delete_before;
  report.anonymise_before_day = cutoffs.anonymise_before;
  if (!policy.any()) return report;
  if (cutoffs.anonymise_before && token_key == nullptr) {
    return Status::invalid_argument("anonymising tap records needs the token key ([records] token_key_file)");
  }
  if (!run.from.empty() && !tap_record_key_day(run.from)) return Status::invalid_argument("a retention run carries on at a record key");

  const std::string end = tap_records_day_begin(cutoffs.end_day());
  std::vector<ledger::RecordWrite> writes;
  writes.reserve(run.records_per_write + 1);
  Status failed = Status::ok();
  // Each batch one synced write; the call's audit entry rides with its last.
  auto flush = [&](bool last) {
    const bool audited = last && actor != nullptr && (report.anonymised > 0 || report.deleted > 0);
    if (audited) writes.push_back(audit_write(*actor, report));
    if (writes.empty()) return true;
    failed = ledger.put_records(writes, {});
    if (!failed) return false;
    ++report.writes;
    writes.clear();
    return true;
  };

  auto snapshot = ledger.snapshot();
  Status scanned = snapshot->scan_records_from(
      ledger::RecordSpace::tap_records, "", run.from, [&](std::string_view key, std::string_view value) {
        if (key >= end) return false;
        if (report.records_read == run.records_per_call) {
          report.next_key = std::string(key);
          return false;
        }
        ++report.records_read;
        const auto day = tap_record_key_day(key);
        if (!day) {
          failed = Status::corruption("tap record key of " + std::to_string(key.size()) + " bytes: " + hex(key));
          return false;
        }
        const Due due = cutoffs.due(*day);
        if (due == Due::erase) {
          // By key alone: a record that no longer decodes goes as well.
          writes.push_back({ledger::RecordSpace::tap_records, std::string(key), {}, ledger::RecordChange::erase});
          ++report.deleted;
        } else if (due == Due::anonymise) {
          auto record = decode_recorded_tap(key, value);
          if (!record) {
            failed = Status::corruption(fmt::format("{} (key {})", record.status().message(), hex(key)));
            return false;
          }
          if (record->anonymised) {
            ++report.already_anonymised;
            return true;
          }
          record->tap.card = token_key->token(record->tap.card);
          record->account = AccountId{};
          record->anonymised = true;
          writes.push_back(tap_record_write(*record));
          ++report.anonymised;
        }
        return writes.size() < run.records_per_write || flush(false);
      });
  if (!scanned) return scanned;
  if (!failed) return failed;
  if (report.next_key.empty()) {
    // The repricing's opening states of the same days (account_replay.h):
    // they name the card, and explain them no more once the records are
    // anonymised or gone. At most records_per_call a call; the next run
    // takes the rest.
    const std::string states_end = opening_states_day_prefix(cutoffs.end_day());
    std::uint64_t states_read = 0;
    Status states = snapshot->scan_records(ledger::RecordSpace::reprice, opening_states_prefix(), [&](std::string_view key, std::string_view) {
      if (key >= states_end || states_read++ == run.records_per_call) return false;
      writes.push_back({ledger::RecordSpace::reprice, std::string(key), {}, ledger::RecordChange::erase});
      ++report.opening_states_deleted;
      return writes.size() < run.records_per_write || flush(false);
    });
    if (!states) return states;
    if (!failed) return failed;
  }
  if (!flush(true)) return failed;
  return report;
}

nlohmann::json tap_retention_json(const TapRetentionReport& report) {
  auto date = [](const std::optional<std::int32_t>& day) {
    return day ? nlohmann::json(rules::format_date_days(*day)) : nlohmann::json(nullptr);
  };
  return nlohmann::json{{"delete_before", date(report.delete_before_day)},
                        {"anonymise_before", date(report.anonymise_before_day)},
                        {"records_read", report.records_read},
                        {"anonymised", report.anonymised},
                        {"already_anonymised", report.already_anonymised},
                        {"deleted", report.deleted},
                        {"opening_states_deleted", report.opening_states_deleted},
                        {"writes", report.writes},
                        {"next_key", hex(report.next_key)}};
}

std::optional<std::string> tap_retention_key_from_hex(const std::string& text) {
  if (text.size() != 2 * tap_record_key_bytes) return std::nullopt;
  std::string key;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    for (std::size_t j = 0; j < 2; ++j) {
      const char c = text[i + j];
      const int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0) return std::nullopt;
      value = value * 16 + static_cast<unsigned>(digit);
    }
    key.push_back(static_cast<char>(value));
  }
  return key;
}

}  // namespace citycard::engine
