// A refused card-office request as its one audit entry (refusals.h).
#include "admin_audit.h"
#include "group_builder.h"
#include "refusals.h"

namespace citycard::engine {

void GroupBuilder::record_refusal(Draft& draft) {
  const AdminCommand& command = draft.admin();
  const Status& why = draft.admin_result().status;
  // Whatever the refused build left: nothing of it is written.
  draft.group = {};
  draft.group.key = command.key;
  draft.card = CardId();
  draft.deny_after.reset();
  draft.refresh_elsewhere = CardId();
  if (!is_refusal(why) || command.operator_name.empty() || command.key.origin != Origin::operator_action) return;
  draft.group.key = refusal_key(command.key);
  AuditEntry audit = admin_audit_entry(command, why.message());
  audit.ref = draft.group.key.to_string();
  audit.outcome = "refused";
  draft.group.records.push_back(audit_record(audit));
  draft.group.outcome = "refused";
}

}  // namespace citycard::engine
