// The audit entry of a card-office action taken by an OfficeActor (a card
// import, a rule set load, an access-list change, a records retention run):
// who, when, why, from the actor; what, from the caller. One home, so every
// such entry names its clerk, role and reason the same way.
#pragma once

#include <string>
#include <utility>

#include "audit_entry.h"
#include "office_import.h"

namespace citycard::engine {

inline AuditEntry office_audit_entry(const OfficeActor& actor, std::string action, std::string detail) {
  AuditEntry entry;
  entry.ref = actor.key.to_string();
  entry.time = actor.time;
  entry.clerk = actor.clerk;
  entry.role = actor.role;
  entry.action = std::move(action);
  entry.reason = actor.reason;
  entry.detail = std::move(detail);
  return entry;
}

}  // namespace citycard::engine
