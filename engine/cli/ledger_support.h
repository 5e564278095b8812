// Helpers shared by the ledger command group: opening the ledger with a
// clear error, naming accounts on the command line, printing times.
#pragma once

#include <memory>
#include <string>

#include "citycard/ids.h"
#include "citycard/time.h"
#include "commands.h"
#include "ledger/ledger.h"

namespace citycard::cli {

enum class LedgerAccess { read_only, read_write, create };

// Opens the ledger at context.db_path or fails with one line naming why.
std::unique_ptr<ledger::Ledger> open_ledger_or_fail(const CliContext& context, LedgerAccess access);
// Says on stderr when opening upgraded the ledger's format.
void tell_upgrade(const ledger::Ledger& ledger, const std::string& path);

CardId parse_card_or_fail(const std::string& text);
CardRecord card_or_fail(const ledger::Ledger& ledger, const std::string& text);

// "2026-11-22T07:35:46Z"
std::string format_utc(EventTime time);
EventTime now();

// A key for an operator action: op:<pid>:<microseconds>, unique per run.
IdempotencyKey fresh_operator_key();

}  // namespace citycard::cli
