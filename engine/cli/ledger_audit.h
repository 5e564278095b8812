// `citycard audit`: reads the audit trail (ledger_audit.cpp).
#pragma once

#include "commands.h"

namespace citycard::cli {

void add_audit_command(CLI::App& app, CliContext& context);

}  // namespace citycard::cli
