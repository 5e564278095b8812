// citycard rules: check a rule file; explain, step by step, what taps cost;
// load and list rule set versions (rules_versions.h).
//
//   citycard rules check FILE
//   citycard rules explain FILE --scenario SCENARIO.toml
//   citycard rules explain FILE --card-state 'category = "student", wallet_minor = 200'
//                               --tap 'time = 2025-03-03T07:45:00, mode = "bus_board", operator = 101'
//   citycard rules load FILE [--reason TEXT]
//   citycard rules show
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "explain.h"
#include "rating.h"
#include "rule_set_loader.h"
#include "rules_versions.h"
#include "scenario.h"

namespace citycard::cli {
namespace {

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out += escaped;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

struct CheckOptions {
  std::string file;
};

void run_check(const CheckOptions& options, const CliContext& context) {
  rules::RuleSetLoad load = rules::load_rule_set_file(options.file);
  if (context.json) {
    std::cout << "{\"file\":" << json_string(options.file) << ",\"valid\":" << (load.ok() ? "true" : "false");
    if (load.ok()) std::cout << ",\"version\":" << load.rule_set->version;
    std::cout << ",\"problems\":[";
    for (std::size_t i = 0; i < load.problems.size(); ++i) {
      const auto& problem = load.problems[i];
      std::cout << (i ? "," : "") << "{\"line\":" << problem.line << ",\"field\":" << json_string(problem.field)
                << ",\"message\":" << json_string(problem.message) << "}";
    }
    std::cout << "]}\n";
  } else {
    for (const auto& problem : load.problems) std::cout << problem.to_string() << "\n";
  }
  if (!load.ok())
    fail(options.file + ": " + std::to_string(load.problems.size()) + " problem" +
         (load.problems.size() == 1 ? "" : "s"));
  if (!context.json) {
    const rules::RuleSet& set = *load.rule_set;
    std::cout << options.file << ": valid, rule set version " << set.version << " (" << set.operators.size()
              << " operators, " << set.networks.size() << " networks, " << set.leg_rules.size() << " leg rules, "
              << set.transfer_rules.size() << " transfer rules, " << set.caps.size() << " caps, " << set.venues.size()
              << " venues, " << set.payments.size() << " payment rules)\n";
  }
}

struct ExplainOptions {
  std::string file;
  std::string scenario;
  std::string card_state;
  std::vector<std::string> taps;
};

void run_explain(const ExplainOptions& options, const CliContext& context) {
  auto rule_set = rules::load_rule_set(options.file);
  if (!rule_set) fail(rule_set.status().message());
  rules::Scenario scenario;
  if (!options.scenario.empty()) {
    if (!options.card_state.empty() || !options.taps.empty()) fail("give either --scenario or --card-state/--tap");
    auto loaded = rules::load_scenario_file(options.scenario, *rule_set);
    if (!loaded) fail(loaded.status().message());
    scenario = std::move(*loaded);
  } else {
    if (options.taps.empty()) fail("give --scenario FILE or at least one --tap");
    if (!options.card_state.empty()) {
      auto card = rules::parse_card_state_inline(options.card_state);
      if (!card) fail(card.status().message());
      scenario.card = *card;
    }
    for (std::size_t i = 0; i < options.taps.size(); ++i) {
      auto tap = rules::parse_tap_inline(options.taps[i], *rule_set, i + 1);
      if (!tap) fail(tap.status().message());
      tap->media = scenario.card.media;
      scenario.taps.push_back(*tap);
    }
  }

  rules::CardState state = scenario.card;
  std::int64_t rider_total = 0;
  std::int64_t subsidy_total = 0;
  std::int64_t points_total = 0;
  if (context.json) std::cout << "{\"rule_set_version\":" << rule_set->version << ",\"steps\":[";
  for (std::size_t i = 0; i < scenario.taps.size(); ++i) {
    const Tap& tap = scenario.taps[i];
    const rules::Rating rating = rules::rate(*rule_set, state, tap);
    const auto lines = rules::explain_notes(*rule_set, state, rating);
    rider_total += rating.fare_minor;
    subsidy_total += rules::city_net(rating);
    points_total += rating.points_spent;
    if (context.json) {
      std::cout << (i ? "," : "") << "{\"tap\":" << json_string(rules::describe_tap(*rule_set, tap))
                << ",\"approved\":" << (rating.approved() ? "true" : "false")
                << ",\"refusal\":" << json_string(rules::refusal_name(rating.refusal))
                << ",\"fare_minor\":" << rating.fare_minor << ",\"points_spent\":" << rating.points_spent
                << ",\"balance_after_minor\":" << rating.balance_after_minor << ",\"points_after\":" << rating.points_after
                << ",\"deny_list\":" << (rating.deny_list ? "true" : "false") << ",\"steps\":[";
      for (std::size_t n = 0; n < lines.size(); ++n) std::cout << (n ? "," : "") << json_string(lines[n]);
      std::cout << "],\"postings\":[";
      std::size_t n = 0;
      for (const Posting& posting : rating.posting_list())
        std::cout << (n++ ? "," : "") << json_string(rules::describe_posting(posting));
      std::cout << "]}";
    } else {
      std::cout << "tap " << i + 1 << ": " << rules::describe_tap(*rule_set, tap) << "\n";
      for (const auto& line : lines) std::cout << "  - " << line << "\n";
      std::cout << "  = " << rules::summarize_rating(rating) << "\n";
      for (const Posting& posting : rating.posting_list()) std::cout << "    " << rules::describe_posting(posting) << "\n";
    }
    state = rating.state;
  }
  if (context.json) {
    std::cout << "],\"rider_paid_minor\":" << rider_total << ",\"city_paid_minor\":" << subsidy_total
              << ",\"points_spent\":" << points_total << "}\n";
  } else {
    std::cout << "total: the rider paid " << rider_total << " TWD and " << points_total
              << " points; the city paid operators " << subsidy_total << " TWD\n";
  }
}

}  // namespace

void add_rules_commands(CLI::App& app, CliContext& context) {
  CLI::App* rules_command = app.add_subcommand("rules", "Check rule files, explain what taps cost, load and list rule set versions");
  rules_command->require_subcommand(1);

  auto check = std::make_shared<CheckOptions>();
  CLI::App* check_command = rules_command->add_subcommand(
      "check", "Validate a rule file; prints every problem as FILE:LINE: field: message");
  check_command->add_option("FILE", check->file, "rule set TOML file")->required();
  check_command->callback([check, &context] { run_check(*check, context); });

  auto explain = std::make_shared<ExplainOptions>();
  CLI::App* explain_command = rules_command->add_subcommand(
      "explain", "Rate a scenario tap by tap and say why each tap cost what it cost");
  explain_command->add_option("FILE", explain->file, "rule set TOML file")->required();
  explain_command->add_option("--scenario", explain->scenario, "scenario TOML: [card] and [[taps]]");
  explain_command->add_option("--card-state", explain->card_state,
                              "starting card, e.g. 'category = \"student\", wallet_minor = 200'");
  explain_command->add_option("--tap", explain->taps,
                              "a tap, e.g. 'time = 2025-03-03T07:45:00, mode = \"bus_board\", operator = 101' "
                              "(repeatable)");
  explain_command->callback([explain, &context] { run_explain(*explain, context); });

  add_rule_version_commands(*rules_command, context);
}

}  // namespace citycard::cli
