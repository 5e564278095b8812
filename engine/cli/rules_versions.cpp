#include "rules_versions.h"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/groups/rule_store.h"
#include "ledger_clerk.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"
#include "rule_set_loader.h"

namespace citycard::cli {
namespace {

using json = nlohmann::json;

// The ledger's book when the engine is stopped; fail() when it holds none.
rules::RuleBook stored_book(const std::vector<engine::RulePlan>& installed) {
  if (installed.empty()) {
    fail("this ledger holds no rule set yet: citycard-engine installs its configured rules_file when it first starts");
  }
  std::vector<rules::InstalledRules> versions;
  for (const auto& plan : installed) versions.push_back(plan.installed);
  return rules::RuleBook(std::move(versions));
}

void print_versions(const CliContext& context, const json& reply) {
  if (context.json) {
    std::cout << reply.dump() << "\n";
    return;
  }
  std::cout << fmt::format("business day now: {}\n", reply.value("today", std::string()));
  for (const auto& row : reply["versions"]) {
    const std::string by = row.value("installed_by", std::string());
    std::cout << fmt::format("version {:<4} {:<10} from {:<10}  {}  ({}, sha256 {}, installed {} by {})\n",
                             row.value("version", 0u), row.value("status", std::string()),
                             row.value("effective_from", std::string()), row.value("name", std::string()),
                             row.value("source", std::string()), row.value("sha256", std::string()).substr(0, 12),
                             format_utc(EventTime{row.value("installed_us", std::int64_t{0})}),
                             by.empty() ? "the engine (its rules_file)" : by);
  }
}

void run_show(const CliContext& context) {
  require_clerk(context, ClerkAction::look_up);
  if (auto reply = engine_request(context, {{"op", "rules_show"}})) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    return print_versions(context, *reply);
  }
  auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
  auto installed = engine::installed_rules(*ledger);
  if (!installed) fail(installed.status().message());
  const rules::RuleBook book = stored_book(*installed);
  print_versions(context, engine::rule_versions_json(book, book.business_day(now())));
}

void run_load(const CliContext& context, const std::string& path) {
  // Checked here first, so a bad file names its problems without a clerk or an engine.
  auto file = engine::read_rule_file(path);
  if (!file) fail(file.status().message());
  rules::RuleSetLoad check = rules::parse_rule_set(file->text, path);
  for (const auto& problem : check.problems) std::cerr << problem.to_string() << "\n";
  if (!check.ok()) {
    fail(fmt::format("{}: {} problem{}; nothing loaded", path, check.problems.size(), check.problems.size() == 1 ? "" : "s"));
  }
  json reply;
  if (auto answer = engine_request(context, with_reason(context, {{"op", "rules_load"}, {"source", path}, {"text", file->text}}))) {
    if (!answer->value("ok", false)) fail(answer->value("error", std::string("the engine refused")) + "; nothing loaded");
    reply = std::move(*answer);
  } else {
    const engine::OfficeActor actor = office_actor(context, ClerkAction::rules_load);
    auto ledger = open_ledger_or_fail(context, LedgerAccess::read_write);
    auto installed = engine::installed_rules(*ledger);
    if (!installed) fail(installed.status().message());
    const rules::RuleBook book = stored_book(*installed);
    auto plan = engine::plan_rule_load(book, *installed, *file, book.business_day(actor.time), actor);
    if (!plan) fail(plan.status().message() + "; nothing loaded");
    rules::RuleBook after = book;
    if (!plan->already_installed) {
      if (Status written = engine::install_rules(*ledger, *plan, actor); !written) fail(written.message());
      after = book.with(plan->installed);
    }
    reply = engine::rule_versions_json(after, after.business_day(actor.time));
    reply["version"] = plan->installed.rules->version;
    reply["already_installed"] = plan->already_installed;
  }
  if (context.json) {
    std::cout << reply.dump() << "\n";
    return;
  }
  const unsigned version = reply.value("version", 0u);
  for (const auto& row : reply["versions"]) {
    if (row.value("version", 0u) != version) continue;
    std::cout << fmt::format("rule set version {} {}: rates taps from the business day {} ({})\n", version,
                             reply.value("already_installed", false) ? "was already installed" : "installed",
                             row.value("effective_from", std::string()), row.value("status", std::string()));
  }
}

}  // namespace

void add_rule_version_commands(CLI::App& rules_command, CliContext& context) {
  auto path = std::make_shared<std::string>();
  CLI::App* load = rules_command.add_subcommand(
      "load", "Install a new rule set version (with effective_from, a later business day) into the running engine, "
              "or into a stopped ledger; it rates taps from that day");
  load->add_option("FILE", *path, "rule set TOML file")->required();
  load->add_option("--reason", context.reason, "why, for the audit trail");
  load->callback([path, &context] { run_load(context, *path); });
  CLI::App* show = rules_command.add_subcommand("show", "List the installed rule set versions and which rates today");
  show->callback([&context] { run_show(context); });
}

}  // namespace citycard::cli
