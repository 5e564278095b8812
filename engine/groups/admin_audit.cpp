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
    case AdminAction::approve:
    case AdminAction::reject: return "refund";  // the entry's outcome says which
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
  if (command.action == AdminAction::top_up || command.action == AdminAction::refund) entry.amount_minor = command.amount_minor;
  entry.reason = command.reason;
  entry.detail = std::move(detail);
  return entry;
}

}  // namespace citycard::engine
