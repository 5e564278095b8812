// The audit entries of the business day's close, resends and
// acknowledgements (engine: settlement_desk.h; CLI on a stopped ledger:
// commands_settlement.cpp): one per request, naming the clerk, the day or
// file, how many files, and the outcome.
// - When settlement writes (a close, a resend, an acknowledgement), the
//   entry goes into that same ledger write (settlement::Options::records_with,
//   given by hook()): outcome done, detail what it did.
// - When it writes nothing -- it refused (a day not over, a second ack),
//   failed, or found the day closed before -- finish() writes the entry
//   alone: outcome refused, failed, or done ("closed before; nothing changed").
// Key: the actor's reference (office_import.h: OfficeActor::key).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "audit_entry.h"
#include "citycard/status.h"
#include "ledger/ledger.h"
#include "office_import.h"

namespace citycard::engine {

class SettleAudit {
 public:
  // `action`: "settle close", "settle resend", "settle ack"; `asked`: what
  // was asked, for a refusal's detail ("close of 2026-11-20").
  SettleAudit(OfficeActor actor, std::string action, std::string asked);

  // For settlement::Options::records_with.
  std::function<std::vector<ledger::RecordWrite>(const std::string& done)> hook() const;
  // After the request: the entry, unless settlement's write carried it.
  // `outcome` is the request's; `unchanged` the detail when it succeeded
  // without writing. The error of writing the entry, if any.
  Status finish(ledger::Ledger& ledger, const Status& outcome, const std::string& unchanged) const;

 private:
  AuditEntry entry(std::string outcome, std::string detail) const;

  OfficeActor actor_;
  std::string action_;
  std::string asked_;
};

}  // namespace citycard::engine
