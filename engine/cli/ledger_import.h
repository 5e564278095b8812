// Bulk commands for the card office and the demo: issue cards from a roster
// and post transfers from a file. While the engine runs they go through its
// admin API (it is the ledger's only writer then), in chunks with progress;
// otherwise on the ledger, with the same code (engine/groups/office_import.h).
// Every bad line is named and nothing is written if any is bad; a rerun
// after an interruption skips what was done.
#pragma once

#include <memory>

#include <vector>

#include "commands.h"
#include "office_import.h"

namespace citycard::cli {

// card import FILE: lines "card,category,media[,overdraft[,linked_to]]".
void add_card_import_command(CLI::App& cards, CliContext& context);

// card eligibility FILE: lines "card,category,from,until" (eligibility.h).
void add_card_eligibility_command(CLI::App& cards, CliContext& context);

// transfers import FILE: lines
//   "ref,debit,credit,amount,code[,event_unix_seconds[,mode[,location[,flags]]]]"
// Consecutive lines with the same ref form one all-or-nothing group; a ref
// that already posted is skipped (idempotent rerun).
void add_transfer_import_command(CLI::App& app, CliContext& context);

// Cards through the running engine (card_import), else on the ledger. With
// `kept`, a ledger opened here stays open there for the next call (an import
// in chunks: each open loads every account); while it is open no engine can
// start on it, so later calls go straight to it.
engine::IssueReport issue_cards_through_engine_or_ledger(const CliContext& context, const std::vector<ledger::NewCard>& cards,
                                                         std::unique_ptr<ledger::Ledger>* kept = nullptr);

}  // namespace citycard::cli
