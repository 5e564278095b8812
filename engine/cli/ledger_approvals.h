// `citycard approvals list|approve|reject`: refunds waiting for a second
// supervisor (four eyes, engine/groups/approvals.h), through the running
// engine or on a stopped ledger with the engine's group builder.
#pragma once

#include "commands.h"

namespace citycard::cli {

void add_approvals_command(CLI::App& app, CliContext& context);

}  // namespace citycard::cli
