// One audit entry: who did what to which card, for how much, why, and how it
// ended. The engine's shards and the CLI's direct-ledger path build entries
// here and put them in the posting group of the action (or the records
// written with it), so the entry is in the same write as the money; the
// ledger chains every entry (ledger/audit_chain.h).
//
// The body is a JSON object with sorted keys (nlohmann::json orders them), so
// the same entry always has the same bytes:
//   {"action":..., "amount_minor":..., "card":..., "clerk":..., "detail":...,
//    "outcome":..., "reason":..., "role":..., ["tap":...,] "time_us":...}
// "tap" is there only for an adjustment that names the tap it corrects, so
// every other entry keeps the bytes it always had. An empty clerk is the
// engine's own bookkeeping (no clerk asked for it).
// Header-only: the CLI builds the same entries without linking the engine.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "citycard/clerk.h"
#include "citycard/ids.h"
#include "citycard/time.h"
#include "ledger/ledger.h"

namespace citycard::engine {

struct AuditEntry {
  std::string ref;               // the action's op:SOURCE:NUMBER (the record's key)
  EventTime time;
  std::string clerk;             // empty: none
  std::string role;              // the clerk's role name
  std::string action;            // "top-up", "refund", "adjustment", "block", "replace", "reader add", ...
  std::string card;              // hex, empty when no card
  std::int64_t amount_minor = 0;
  std::string reason;            // the clerk's words, may be empty
  // done | pending | approved | rejected | refused (nothing changed: detail
  // says why) | failed (a settlement job that could not finish)
  std::string outcome = "done";
  std::string detail;            // what changed, in words
  std::string tap;               // an adjustment's tap ("tap:R:S"), empty otherwise
};

inline nlohmann::json audit_json(const AuditEntry& entry) {
  nlohmann::json out{{"time_us", entry.time.unix_us}, {"clerk", entry.clerk},     {"role", entry.role},
                     {"action", entry.action},        {"card", entry.card},       {"amount_minor", entry.amount_minor},
                     {"reason", entry.reason},        {"outcome", entry.outcome}, {"detail", entry.detail}};
  if (!entry.tap.empty()) out["tap"] = entry.tap;
  return out;
}

inline ledger::RecordWrite audit_record(const AuditEntry& entry) {
  return ledger::RecordWrite{ledger::RecordSpace::audit, entry.ref, audit_json(entry).dump()};
}

// Whether an entry's members have their types: time_us and amount_minor
// integers that fit int64, every other member text.
inline bool audit_body_has_entry_types(const nlohmann::json& body) {
  for (const auto& [key, value] : body.items()) {
    if (key == "time_us" || key == "amount_minor") {
      if (!value.is_number_integer() || (value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX)) return false;
    } else if (!value.is_string()) {
      return false;
    }
  }
  return true;
}

// The entry a body holds; a body that is not one (a free-text record from
// before entries had fields, or an object whose members are not an entry's)
// comes back as its detail.
inline AuditEntry audit_entry_from_body(std::string ref, const std::string& body) {
  AuditEntry entry;
  entry.ref = std::move(ref);
  entry.outcome.clear();
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !audit_body_has_entry_types(parsed)) {
    entry.detail = body;
    return entry;
  }
  entry.time = EventTime{parsed.value("time_us", std::int64_t{0})};
  entry.clerk = parsed.value("clerk", std::string());
  entry.role = parsed.value("role", std::string());
  entry.action = parsed.value("action", std::string());
  entry.card = parsed.value("card", std::string());
  entry.amount_minor = parsed.value("amount_minor", std::int64_t{0});
  entry.reason = parsed.value("reason", std::string());
  entry.outcome = parsed.value("outcome", std::string());
  entry.detail = parsed.value("detail", std::string());
  entry.tap = parsed.value("tap", std::string());
  return entry;
}

}  // namespace citycard::engine
