// `citycard audit [--card C] [--clerk N] [--since T] [--json]`: the audit
// trail (engine/groups/audit_entry.h) in chain order, read from the ledger
// (read-only, so also while the engine runs). For the auditor role.
#include "ledger_audit.h"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/groups/audit_entry.h"
#include "ledger/audit_chain.h"
#include "ledger_clerk.h"
#include "ledger_support.h"
#include "settlement/ack.h"

namespace citycard::cli {
namespace {

struct AuditOptions {
  std::string card;
  std::string clerk;
  std::string since;
};

void run_audit(const CliContext& context, const AuditOptions& options) {
  require_clerk(context, ClerkAction::audit_read);
  std::string card;
  if (!options.card.empty()) card = parse_card_or_fail(options.card).to_string();
  std::optional<EventTime> since;
  if (!options.since.empty()) {
    auto parsed = settlement::parse_time(options.since);
    if (!parsed) fail("--since: " + parsed.status().message() + " (e.g. 2026-11-22T07:00:00+08:00)", 2);
    since = *parsed;
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  auto snapshot = ledger->snapshot();
  nlohmann::json rows = nlohmann::json::array();
  Status scanned = snapshot->scan_records(ledger::RecordSpace::audit_chain, "", [&](std::string_view, std::string_view value) {
    auto link = ledger::decode_audit_link(value);
    if (!link) {
      fail("an audit chain entry is unreadable; run citycard verify");
    }
    engine::AuditEntry entry = engine::audit_entry_from_body(link->key, link->body);
    if (!card.empty() && entry.card != card) return true;
    if (!options.clerk.empty() && entry.clerk != options.clerk) return true;
    if (since && entry.time.unix_us < since->unix_us) return true;
    if (context.json) {
      nlohmann::json row = engine::audit_json(entry);
      row["number"] = link->number;
      row["ref"] = entry.ref;
      row["hash"] = ledger::audit_hash_hex(link->hash);
      rows.push_back(std::move(row));
      return true;
    }
    std::cout << fmt::format("#{} {} {} ({}) {}{}{} {}{}: {} [{}]\n", link->number, format_utc(entry.time),
                             entry.clerk.empty() ? "-" : entry.clerk, entry.role.empty() ? "-" : entry.role, entry.action,
                             entry.card.empty() ? "" : " card " + entry.card,
                             entry.amount_minor != 0 ? fmt::format(" {} TWD", entry.amount_minor) : "", entry.outcome,
                             entry.reason.empty() ? "" : " (" + entry.reason + ")", entry.detail, entry.ref);
    return true;
  });
  if (!scanned) fail(scanned.message());
  if (context.json) std::cout << rows.dump() << "\n";
}

}  // namespace

void add_audit_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<AuditOptions>();
  auto* audit = app.add_subcommand("audit", "the audit trail: who did what, when, to which card (auditor role)");
  audit->add_option("--card", options->card, "only entries for this card (hex)");
  audit->add_option("--clerk", options->clerk, "only entries by this clerk");
  audit->add_flag("--json", context.json, "machine-readable JSON output");
  audit->add_option("--since", options->since, "only entries at or after this time (ISO 8601 with a zone)");
  audit->callback([&context, options] { run_audit(context, *options); });
}

}  // namespace citycard::cli
