// Card-office actions on a stopped ledger (no engine answers on the admin
// socket): built by the engine's own group builder (engine/groups), so the
// checks, the posting group, the deny-list and audit records are the
// engine's, then posted here. The clerk's role is checked here too, not
// before: a refused request is recorded in the audit trail (refusals.h) as
// the engine records it, and the commands try the engine first with no
// check of their own, for the engine to check and record.
#pragma once

#include <memory>

#include "admin_command.h"
#include "commands.h"
#include "ledger/ledger.h"

namespace citycard::cli {

// The action's result (duplicate: its reference was done before); fail()s
// with the reason when it is refused or the ledger fails.
engine::AdminResult card_action_in_ledger(const CliContext& context, engine::AdminCommand command);

// The same for many actions on one opened ledger (a bulk import).
class CardActionsInLedger {
 public:
  explicit CardActionsInLedger(const CliContext& context);
  ~CardActionsInLedger();
  engine::AdminResult run(engine::AdminCommand command);

 private:
  struct Parts;
  const CliContext& context_;
  std::unique_ptr<Parts> parts_;
};

// The reference given on the command line, or a fresh one; fail()s on a
// malformed one.
IdempotencyKey reference_or_fresh(const std::string& ref);

// `card adjust` (ledger_adjust.cpp).
void add_card_adjust_command(CLI::App& cards, CliContext& context);
// `card link`, `card unlink`, `card merge` (ledger_accounts.cpp).
void add_card_account_commands(CLI::App& cards, CliContext& context);
// `card auto-top-up` (ledger_auto_top_up.cpp).
void add_card_auto_top_up_command(CLI::App& cards, CliContext& context);

}  // namespace citycard::cli
