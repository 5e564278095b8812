// citycard rules load FILE / rules show: rule set versions, through the
// running engine (admin ops rules_load, rules_show) or, when it is stopped,
// on the ledger with the same code (engine/groups/rule_store.h).
#pragma once

#include <CLI/CLI.hpp>

#include "commands.h"

namespace citycard::cli {

void add_rule_version_commands(CLI::App& rules_command, CliContext& context);

}  // namespace citycard::cli
