// The audit entry of an admin action the engine's shards carried out
// (audit_entry.h), so the shards' call sites stay one line.
#pragma once

#include <string>
#include <string_view>

#include "admin_command.h"
#include "audit_entry.h"

namespace citycard::engine {

// Outcome "done"; `detail` says what changed.
AuditEntry admin_audit_entry(const AdminCommand& command, std::string detail);
std::string_view admin_action_name(const AdminCommand& command);

}  // namespace citycard::engine
