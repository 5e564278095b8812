// `citycard card link MEDIUM --to PRIMARY`, `card unlink MEDIUM`,
// `card merge ABSORBED --into SURVIVOR`: one account, many media
// (engine/groups/group_accounts.cpp says what each posts). Through the
// running engine (admin ops card_link, card_unlink, card_merge), else on the
// stopped ledger with the same group builder.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "ledger_card_actions.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"

namespace citycard::cli {
namespace {

struct AccountOptions {
  std::string card;
  std::string other;
  std::string ref;
};

void run_account_action(const CliContext& context, engine::AdminAction action, const AccountOptions& o) {
  const CardId card = parse_card_or_fail(o.card);
  const std::string op = action == engine::AdminAction::link     ? "card_link"
                         : action == engine::AdminAction::unlink ? "card_unlink"
                                                                 : "card_merge";
  nlohmann::json request = {{"op", op}, {"card", card.to_string()}};
  CardId other;
  if (action != engine::AdminAction::unlink) {
    other = parse_card_or_fail(o.other);
    request[action == engine::AdminAction::link ? "to" : "into"] = other.to_string();
  }
  if (!o.ref.empty()) request["ref"] = o.ref;
  nlohmann::json reply;
  if (auto answer = engine_request(context, with_reason(context, request))) {
    if (!answer->value("ok", false)) fail(answer->value("error", std::string("the engine refused")));
    reply = std::move(*answer);
  } else {
    engine::AdminCommand command;
    command.action = action;
    command.card = card;
    command.new_card = other;
    command.key = reference_or_fresh(o.ref);
    auto result = card_action_in_ledger(context, command);
    nlohmann::json media = nlohmann::json::array();
    for (const CardId& medium : result.media_moved) media.push_back(medium.to_string());
    reply = {{"ok", true},          {"duplicate", result.duplicate},
             {"card", card.to_string()}, {"status", std::string(card_status_name(result.card_status))},
             {"wallet_minor", result.wallet_minor}, {"points", result.points},
             {"moved_wallet_minor", result.moved_wallet_minor}, {"moved_points", result.moved_points},
             {"media_moved", media}, {"ref", command.key.to_string()}};
  }
  if (context.json) {
    std::cout << reply.dump() << "\n";
    return;
  }
  const std::string done = reply.value("duplicate", false) ? "already done: " : "";
  const std::string ref = reply.value("ref", std::string());
  const auto wallet = reply.value("moved_wallet_minor", std::int64_t{0});
  const auto points = reply.value("moved_points", std::int64_t{0});
  switch (action) {
    case engine::AdminAction::link:
      std::cout << fmt::format("{}card {} linked to the account of {}: moved {} TWD and {} points ({})\n", done,
                               card.to_string(), other.to_string(), wallet, points, ref);
      break;
    case engine::AdminAction::unlink:
      std::cout << fmt::format("{}card {} unlinked: its own account again, 0 TWD and 0 points ({})\n", done, card.to_string(), ref);
      break;
    default:
      std::cout << fmt::format("{}account of card {} merged into {}: moved {} TWD and {} points ({})\n", done,
                               card.to_string(), other.to_string(), wallet, points, ref);
      break;
  }
}

}  // namespace

void add_card_account_commands(CLI::App& cards, CliContext& context) {
  auto o = std::make_shared<AccountOptions>();
  auto* link = cards.add_subcommand("link", "a medium joins an account: its balances move there, it shares the account's state");
  link->add_option("MEDIUM", o->card, "the card joining (hex): a primary with no media of its own")->required();
  link->add_option("--to", o->other, "a card of the account's primary (hex)")->required();
  link->add_option("--ref", o->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
  link->add_option("--reason", context.reason, "why, for the audit trail");
  link->callback([&context, o] { run_account_action(context, engine::AdminAction::link, *o); });

  auto* unlink = cards.add_subcommand("unlink", "a linked medium leaves its account: fresh accounts (0 TWD) and a fresh state");
  unlink->add_option("MEDIUM", o->card, "the linked medium (hex)")->required();
  unlink->add_option("--ref", o->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
  unlink->add_option("--reason", context.reason, "why, for the audit trail");
  unlink->callback([&context, o] { run_account_action(context, engine::AdminAction::unlink, *o); });

  auto* merge = cards.add_subcommand(
      "merge", "two accounts of one person become one: balances, points, debt, state and media move to the survivor (supervisor)");
  merge->add_option("ABSORBED", o->card, "the primary card of the account that ends (hex)")->required();
  merge->add_option("--into", o->other, "the primary card of the surviving account (hex)")->required();
  merge->add_option("--ref", o->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
  merge->add_option("--reason", context.reason, "why, for the audit trail");
  merge->callback([&context, o] { run_account_action(context, engine::AdminAction::merge, *o); });
}

}  // namespace citycard::cli
