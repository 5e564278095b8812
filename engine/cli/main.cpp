// citycard: the operator CLI.
#include <iostream>

#include "commands.h"

namespace citycard::cli {

namespace {
// Carries the exit code out of a command callback.
struct CommandFailed : CLI::Error {
  explicit CommandFailed(int exit_code) : CLI::Error("CommandFailed", "", exit_code) {}
};
}  // namespace

void fail(const std::string& message, int exit_code) {
  std::cerr << "citycard: " << message << "\n";
  throw CommandFailed(exit_code);
}

void exit_with(int exit_code) { throw CommandFailed(exit_code); }

}  // namespace citycard::cli

int main(int argc, char** argv) {
  using namespace citycard::cli;
  CLI::App app{"citycard: operator CLI for the citizen card engine"};
  app.require_subcommand(1);
  CliContext context;
  app.add_option("--db", context.db_path, "ledger directory (default ./var/ledger)");
  app.add_flag("--json", context.json, "machine-readable JSON output");
  app.add_option("--clerk", context.clerk, "act as this clerk: PKI/clerks/NAME (.crt and .key); default $CITYCARD_CLERK");
  app.add_option("--four-eyes-minor", context.four_eyes_minor,
                 "engine stopped: refunds over this many TWD wait for a second supervisor (default 1000; 0 = off; "
                 "the engine uses its [admin] four_eyes_minor)")
      ->check(CLI::Range(std::int64_t{0}, citycard::limits::transfer_amount_minor_max));
  app.add_option("--pki", context.pki_dir, "the installation's PKI (default $CITYCARD_PKI, else pki beside --db)");
#ifdef CITYCARD_HAS_LEDGER_COMMANDS
  add_ledger_commands(app, context);
#endif
#ifdef CITYCARD_HAS_RULES_COMMANDS
  add_rules_commands(app, context);
#endif
#ifdef CITYCARD_HAS_SETTLEMENT_COMMANDS
  add_settlement_commands(app, context);
#endif
#ifdef CITYCARD_HAS_PKI_COMMANDS
  add_pki_commands(app, context);
#endif
#ifdef CITYCARD_HAS_READERS_COMMANDS
  add_reader_commands(app, context);
#endif
#ifdef CITYCARD_HAS_KEYS_COMMANDS
  add_keys_commands(app, context);
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() != 0 && !dynamic_cast<const CLI::CallForHelp*>(&error) &&
        !dynamic_cast<const CLI::CallForAllHelp*>(&error)) {
      std::cerr << "citycard: " << error.what() << "\n";
      return 2;
    }
    return app.exit(error);
  } catch (const CLI::Error& error) {
    return error.get_exit_code();
  }
  return 0;
}
