// citycard report usage --from D --to D [--by AXES] [--json|--csv]
// [--chart FILE.html]: the usage report (engine/groups/usage_report.h) of a
// range of business days, as a table, JSON or CSV, and as a chart
// (usage_chart.h). It opens the ledger read-only (ledger.h: no lock, so it
// runs the same while citycard-engine runs) and reads one snapshot: the
// engine's process does none of the work. The same for `report programmes`
// (programme_report.h), `report points --from YYYY-MM --to YYYY-MM`
// (points_report.h, with its histogram) and `report debt` (debt_report.h).
#pragma once

#include <CLI/CLI.hpp>

#include "commands.h"

namespace citycard::cli {

void add_report_commands(CLI::App& app, CliContext& context);

}  // namespace citycard::cli
