// Bulk commands for the card office and the demo: issue cards from a roster
// and post transfers from a file, in large synced batches.
#pragma once

#include "commands.h"

namespace citycard::cli {

// card import FILE: lines "card,category,media[,overdraft]"; cards already
// issued the same way are skipped, so an interrupted import can be rerun.
void add_card_import_command(CLI::App& cards, CliContext& context);

// transfers import FILE: lines
//   "ref,debit,credit,amount,code[,event_unix_seconds[,mode[,location[,flags]]]]"
// Consecutive lines with the same ref form one all-or-nothing group; a ref
// that already posted is skipped (idempotent rerun).
void add_transfer_import_command(CLI::App& app, CliContext& context);

}  // namespace citycard::cli
