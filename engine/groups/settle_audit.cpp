#include "settle_audit.h"

#include "refusals.h"

namespace citycard::engine {

SettleAudit::SettleAudit(OfficeActor actor, std::string action, std::string asked)
    : actor_(std::move(actor)), action_(std::move(action)), asked_(std::move(asked)) {}

AuditEntry SettleAudit::entry(std::string outcome, std::string detail) const {
  AuditEntry entry;
  entry.ref = actor_.key.to_string();
  entry.time = actor_.time;
  entry.clerk = actor_.clerk;
  entry.role = actor_.role;
  entry.action = action_;
  entry.reason = actor_.reason;
  entry.outcome = std::move(outcome);
  entry.detail = std::move(detail);
  return entry;
}

std::function<std::vector<ledger::RecordWrite>(const std::string&)> SettleAudit::hook() const {
  return [done_entry = entry("done", std::string())](const std::string& done) {
    AuditEntry written = done_entry;
    written.detail = done;
    return std::vector<ledger::RecordWrite>{audit_record(written)};
  };
}

Status SettleAudit::finish(ledger::Ledger& ledger, const Status& outcome, const std::string& unchanged) const {
  // Settlement's own write carried it: it is there.
  auto found = ledger.record(ledger::RecordSpace::audit, actor_.key.to_string());
  if (found) return Status::ok();
  if (found.status().code() != StatusCode::not_found) return found.status();
  AuditEntry alone = outcome.is_ok() ? entry("done", unchanged)
                                     : entry(is_refusal(outcome) ? "refused" : "failed", asked_ + ": " + outcome.message());
  return ledger.put_records({audit_record(alone)}, {});
}

}  // namespace citycard::engine
