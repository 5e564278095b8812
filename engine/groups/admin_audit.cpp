#include "admin_audit.h"

namespace citycard::engine {

std::string_view admin_action_name(const AdminCommand& command) {
  switch (command.action) {
    case AdminAction::top_up: return "top-up";
    case AdminAction::refund: return "refund";
    case AdminAction::set_status:
      return command.status == CardStatus::blocked ? "block" : command.status == CardStatus::lost ? "lost" : "unblock";
    case AdminAction::replace: return "replace";
    case AdminAction::reader_add: return "reader add";
    case AdminAction::reader_status: return "reader status";
    // A decision's own entry names the waiting request's action (refund,
    // adjustment); these name a decision that was refused.
    case AdminAction::approve: return "approval";
    case AdminAction::reject: return "rejection";
    case AdminAction::adjust: return "adjustment";
    case AdminAction::record_refusal: return command.op;
    case AdminAction::set_category: return "eligibility";
    case AdminAction::link: return "link";
    case AdminAction::unlink: return "unlink";
    case AdminAction::merge: return "merge";
    case AdminAction::reprice: return "repricing";
    case AdminAction::set_auto_top_up: return "auto top-up";
  }
  return "?";
}

AuditEntry admin_audit_entry(const AdminCommand& command, std::string detail) {
  AuditEntry entry;
  entry.ref = command.key.to_string();
  entry.time = command.time;
  entry.clerk = command.operator_name;
  entry.role = command.clerk_role;
  entry.action = std::string(admin_action_name(command));
  if (!command.card.empty()) entry.card = command.card.to_string();
  entry.amount_minor = command.amount_minor;  // 0 for actions without one
  entry.reason = command.reason;
  if (command.tap) entry.tap = IdempotencyKey::for_tap(*command.tap).to_string();
  entry.detail = std::move(detail);
  return entry;
}

}  // namespace citycard::engine
