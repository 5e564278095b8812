// citycard taps --day D [--card C] [--reader R]: one business day's tap
// records (engine/groups/tap_records.h), through the running engine (admin
// op taps) or on a stopped ledger with the same code (tap_listing.h).
#pragma once

#include <CLI/CLI.hpp>

#include "commands.h"

namespace citycard::cli {

void add_taps_command(CLI::App& app, CliContext& context);

}  // namespace citycard::cli
