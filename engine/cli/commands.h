// The operator CLI is assembled from command groups, one file each
// (commands_<group>.cpp). A group registers its subcommands on the app; a
// command reports failure with fail(), which prints one line and sets the
// exit code. Groups whose file is absent are simply not built.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "citycard/limits.h"

namespace citycard::cli {

struct CliContext {
  std::string db_path = "./var/ledger";  // --db DIR
  bool json = false;                      // --json: machine-readable output
  std::string clerk;                      // --clerk PKI/clerks/NAME (ledger_clerk.h); else $CITYCARD_CLERK
  std::string pki_dir;                    // --pki DIR; else $CITYCARD_PKI, else pki beside the ledger
  std::string reason;                     // --reason of the card action being run, for the audit trail
  // --four-eyes-minor: on a stopped ledger, a refund of more than this waits
  // for a second supervisor (the engine reads [admin] four_eyes_minor).
  std::int64_t four_eyes_minor = limits::four_eyes_minor_default;
};

// Prints "citycard: <message>" on stderr and ends the command with exit_code.
[[noreturn]] void fail(const std::string& message, int exit_code = 1);
// Ends the command with exit_code when it has already said why on its own.
[[noreturn]] void exit_with(int exit_code);

void add_ledger_commands(CLI::App& app, CliContext& context);      // commands_ledger.cpp
void add_rules_commands(CLI::App& app, CliContext& context);       // commands_rules.cpp
void add_settlement_commands(CLI::App& app, CliContext& context);  // commands_settlement.cpp
void add_pki_commands(CLI::App& app, CliContext& context);         // commands_pki.cpp
void add_reader_commands(CLI::App& app, CliContext& context);      // commands_readers.cpp
void add_keys_commands(CLI::App& app, CliContext& context);        // commands_keys.cpp

}  // namespace citycard::cli
