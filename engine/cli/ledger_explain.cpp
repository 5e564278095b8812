#include "ledger_explain.h"

#include <iostream>
#include <memory>

#include "engine/groups/rule_store.h"
#include "ledger_clerk.h"
#include "ledger_support.h"
#include "tap_explanation.h"

namespace citycard::cli {
namespace {

struct ExplainTapOptions {
  std::string tap;
  bool json = false;
};

rules::RuleBook ledger_rule_book(const ledger::Ledger& ledger) {
  auto installed = engine::installed_rules(ledger);
  if (!installed) fail(installed.status().message());
  if (installed->empty()) fail("the ledger holds no rule set versions, so no tap of it was rated (citycard rules load)");
  std::vector<rules::InstalledRules> versions;
  for (const auto& plan : *installed) versions.push_back(plan.installed);
  return rules::RuleBook(std::move(versions));
}

void run_explain_tap(const CliContext& context, const ExplainTapOptions& options) {
  // Checked before anything is opened: bad input names its problem and touches nothing.
  const auto tap = engine::parse_explained_tap(options.tap);
  if (!tap) fail("--tap '" + options.tap + "' is not a tap (READER:SEQUENCE, or as history shows it: tap:17:5)", 2);
  require_clerk(context, ClerkAction::look_up);
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  const rules::RuleBook book = ledger_rule_book(*ledger);
  const auto snapshot = ledger->snapshot();
  auto explained = engine::explain_recorded_tap(*snapshot, book, *tap);
  if (!explained) fail(explained.status().message());
  if (options.json || context.json) {
    std::cout << engine::tap_explanation_json(*explained).dump() << "\n";
    return;
  }
  for (const std::string& line : engine::tap_explanation_lines(*explained)) std::cout << line << "\n";
}

}  // namespace

void add_explain_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<ExplainTapOptions>();
  auto* explain = app.add_subcommand(
      "explain", "why a recorded tap cost what it cost: its account replayed up to it, step by step, against the ledger");
  explain->add_option("--tap", options->tap, "the tap: READER:SEQUENCE, or its ref in citycard history (tap:17:5)")
      ->required();
  explain->add_flag("--json", options->json, "machine-readable output");
  explain->callback([&context, options] { run_explain_tap(context, *options); });
}

}  // namespace citycard::cli
