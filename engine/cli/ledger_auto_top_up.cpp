// `citycard card auto-top-up CARD --on --threshold T --amount A --daily-limit L`
// and `card auto-top-up CARD --off`: the card office switches auto top-up
// from the co-branded credit card on or off for one card
// (engine/groups/group_auto_top_up.cpp checks and writes it). Through the
// running engine (admin op card_auto_top_up), else on the stopped ledger
// with the same group builder, checked against the ledger's installed rule sets.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "group_builder.h"
#include "ledger_card_actions.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"

namespace citycard::cli {
namespace {

struct AutoTopUpOptions {
  std::string card;
  bool on = false;
  bool off = false;
  std::int64_t threshold = -1;
  std::int64_t amount = 0;
  std::int64_t daily_limit = 0;
  std::string ref;
};

engine::AutoTopUpSetting setting_or_fail(const AutoTopUpOptions& o) {
  if (o.on == o.off) fail("give --on (with --threshold, --amount and --daily-limit) or --off", 2);
  engine::AutoTopUpSetting setting;
  setting.enabled = o.on;
  if (o.off) {
    if (o.threshold != -1 || o.amount != 0 || o.daily_limit != 0)
      fail("--off takes no --threshold, --amount or --daily-limit", 2);
    return setting;
  }
  if (o.threshold == -1 || o.amount == 0 || o.daily_limit == 0)
    fail("--on needs --threshold, --amount and --daily-limit (TWD)", 2);
  setting.threshold_minor = o.threshold;
  setting.amount_minor = o.amount;
  setting.daily_max_minor = o.daily_limit;
  return setting;
}

void run_auto_top_up(const CliContext& context, const AutoTopUpOptions& o) {
  const CardId card = parse_card_or_fail(o.card);
  const engine::AutoTopUpSetting setting = setting_or_fail(o);
  nlohmann::json request = {{"op", "card_auto_top_up"}, {"card", card.to_string()}, {"enabled", setting.enabled}};
  if (setting.enabled) {
    request["threshold_minor"] = setting.threshold_minor;
    request["amount_minor"] = setting.amount_minor;
    request["daily_max_minor"] = setting.daily_max_minor;
  }
  if (!o.ref.empty()) request["ref"] = o.ref;
  nlohmann::json reply;
  if (auto answer = engine_request(context, with_reason(context, request))) {
    if (!answer->value("ok", false)) fail(answer->value("error", std::string("the engine refused")));
    reply = std::move(*answer);
  } else {
    engine::AdminCommand command;
    command.action = engine::AdminAction::set_auto_top_up;
    command.card = card;
    command.auto_top_up = setting;
    command.key = reference_or_fresh(o.ref);
    auto result = card_action_in_ledger(context, command);
    reply = {{"ok", true},
             {"duplicate", result.duplicate},
             {"card", card.to_string()},
             {"status", std::string(card_status_name(result.card_status))},
             {"wallet_minor", result.wallet_minor},
             {"ref", command.key.to_string()}};
  }
  if (context.json) {
    std::cout << reply.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{}card {}: {} ({})\n", reply.value("duplicate", false) ? "already done: " : "",
                           card.to_string(), engine::describe_auto_top_up(setting), reply.value("ref", std::string()));
}

}  // namespace

void add_card_auto_top_up_command(CLI::App& cards, CliContext& context) {
  auto o = std::make_shared<AutoTopUpOptions>();
  auto* command = cards.add_subcommand(
      "auto-top-up", "switch a co-branded credit card's auto top-up on (threshold, amount, daily limit) or off");
  command->add_option("CARD", o->card, "card id (hex)")->required();
  command->add_flag("--on", o->on, "switch it on; needs --threshold, --amount and --daily-limit");
  command->add_flag("--off", o->off, "switch it off");
  command->add_option("--threshold", o->threshold, "top up when a charge would leave less than this, TWD (>= 0)");
  command->add_option("--amount", o->amount, "one top-up, TWD (> 0; threshold + amount at most the wallet maximum)");
  command->add_option("--daily-limit", o->daily_limit, "the most auto top-up money per business day, TWD (>= amount)");
  command->add_option("--ref", o->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
  command->add_option("--reason", context.reason, "why, for the audit trail");
  command->callback([&context, o] { run_auto_top_up(context, *o); });
}

}  // namespace citycard::cli
