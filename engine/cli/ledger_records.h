// citycard records retain / records token-key: the tap records' retention
// (engine/groups/tap_retention.h), through the running engine (admin op
// records_retain, its own [records] policy) or on a stopped ledger with the
// same code and the policy given on the command line.
#pragma once

#include <CLI/CLI.hpp>

#include "commands.h"

namespace citycard::cli {

void add_records_commands(CLI::App& app, CliContext& context);

}  // namespace citycard::cli
