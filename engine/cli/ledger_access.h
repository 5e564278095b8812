// citycard access ...: the access lists (docs/access.md) through the running
// engine's admin API (access_show, access_change), or on a stopped ledger
// with the same code (engine/groups/access_store.h).
//   citycard access show
//   citycard access role add|remove NAME [CARD...]
//   citycard access group add NAME --door POINT... --admit WHO[@WINDOWS]...
//   citycard access group remove NAME
//   citycard access meeting add NAME --room POINT --from LOCAL --to LOCAL [--invite WHO...]
//   citycard access meeting remove NAME
//   citycard access invite|uninvite MEETING WHO...
// And the records of doors and meetings (engine/groups/access_log.h),
// read-only on a snapshot, also while the engine runs:
//   citycard door-log --door POINT --day YYYY-MM-DD [--json|--csv]
//   citycard attendance --meeting NAME [--json|--csv]
#pragma once

#include <CLI/CLI.hpp>

#include "commands.h"

namespace citycard::cli {

void add_access_commands(CLI::App& app, CliContext& context);

}  // namespace citycard::cli
