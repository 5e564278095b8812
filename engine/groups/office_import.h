// The card office's bulk work, one home for the engine (admin API ops
// card_import, transfers_import, operator_add) and the CLI on a stopped
// ledger: rows of the import files parsed, cards issued once, imported
// posting groups resolved and posted.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit_entry.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

// Who asked for the bulk work, for the audit trail: the signed-in clerk (the
// engine) or the clerk the CLI checked (stopped ledger). `key` names the
// audit entry of a card import or an operator; the transfers' groups name
// theirs by their own refs.
struct OfficeActor {
  std::string clerk;
  std::string role;
  std::string reason;
  EventTime time;
  IdempotencyKey key;
};

// "card,category,media[,overdraft[,linked_to]]"
Result<ledger::NewCard> parse_card_row(const std::vector<std::string>& fields);

// Cards issued once: a card already issued with the same category and media
// is counted as such (so an interrupted import is rerun safely); one issued
// otherwise is refused by name. The fresh ones are issued all or none.
struct IssueReport {
  std::size_t issued = 0;
  std::size_t already = 0;
  std::vector<std::pair<CardId, std::string>> refused;  // nothing was issued if not empty
};
// Cards per issue_cards_once() call (one admin request, one ledger write);
// the CLI sends a longer roster in chunks of this many.
inline constexpr std::size_t card_import_rows_max = 10'000;
// The issued cards and their one audit entry ("card import") are one
// ledger write: both land or neither does. More than card_import_rows_max
// cards: invalid_argument, nothing issued.
Result<IssueReport> issue_cards_once(ledger::Ledger& ledger, const std::vector<ledger::NewCard>& cards,
                                     const OfficeActor& actor);

// An operator registered with its accounts, and an audit entry when it is
// new ("operator add"); the same id and name again is a retry.
Result<ledger::OperatorRecord> add_operator(ledger::Ledger& ledger, OperatorId id, const std::string& name,
                                            const OfficeActor& actor);

// A row of a transfers import, its accounts still named:
// "ref,debit,credit,amount,code[,event_unix_seconds[,mode[,location[,flags]]]]".
struct TransferRow {
  std::size_t line = 0;
  IdempotencyKey key;
  std::string debit;
  std::string credit;
  Transfer transfer;  // accounts and asset unset
};
Result<TransferRow> parse_transfer_row(const std::vector<std::string>& fields, EventTime default_time);

// A line of an import file (card, transfer or reader rows) split at every
// comma, each field without the spaces around it and a trailing CR. No
// quoting: no field of these files holds a comma.
std::vector<std::string> split_import_line(std::string_view line);

// card:HEX[:wallet|:points], operator:N[:payable|:settled] or a system
// account's name.
Result<AccountId> resolve_account(const ledger::Ledger& ledger, const std::string& reference);

// Consecutive rows with the same ref form one all-or-nothing group, posted
// in batches. The accounts of every row are resolved first: a row naming no
// account refuses the whole import (nothing posted). Cards whose accounts
// moved are in `cards_touched` (a running engine reloads them). Each group
// carries its audit entry ("transfer import", keyed by its ref), written
// with its transfers.
struct ImportReport {
  std::size_t posted = 0;
  std::size_t transfers = 0;
  std::size_t duplicates = 0;
  std::vector<std::pair<std::size_t, std::string>> rejected;  // line, why
  std::vector<CardId> cards_touched;
};
Result<ImportReport> post_transfer_rows(ledger::Ledger& ledger, const std::vector<TransferRow>& rows, const OfficeActor& actor);

// JSON of the rows for the admin API, and back.
nlohmann::json card_rows_json(const std::vector<ledger::NewCard>& cards);
Result<std::vector<ledger::NewCard>> card_rows_from_json(const nlohmann::json& rows);
nlohmann::json transfer_rows_json(const std::vector<TransferRow>& rows);
Result<std::vector<TransferRow>> transfer_rows_from_json(const nlohmann::json& rows);
nlohmann::json issue_report_json(const IssueReport& report);
nlohmann::json import_report_json(const ImportReport& report);

}  // namespace citycard::engine
