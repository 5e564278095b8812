// citycard explain --tap READER:SEQUENCE [--json]: "why was I charged
// this?" on a real recorded tap (engine/groups/tap_explanation.h). It opens
// the ledger read-only (no lock: it runs the same while citycard-engine
// runs) and reads one snapshot, with the rule set versions installed in the
// ledger. The tap is named as `citycard history` shows it in its ref column
// (tap:17:5, or a correction rpt:17:5) or as READER:SEQUENCE.
#pragma once

#include <CLI/CLI.hpp>

#include "commands.h"

namespace citycard::cli {

void add_explain_command(CLI::App& app, CliContext& context);

}  // namespace citycard::cli
