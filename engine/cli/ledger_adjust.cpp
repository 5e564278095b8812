// `citycard card adjust CARD AMOUNT --reason R [--tap READER:SEQUENCE] [--ref op:S:N]`:
// a correction of a card's wallet (engine/groups/group_adjust.cpp says what
// it posts). Through the running engine (admin op card_adjust), else on the
// ledger with the same group builder; the role, the reason, the amount and
// the tap are checked there, so a refusal is recorded in the audit trail
// on either path.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/groups/tap_adjustments.h"
#include "ledger_card_actions.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"

namespace citycard::cli {
namespace {

struct AdjustOptions {
  std::string card;
  std::int64_t amount = 0;
  std::string tap;
  std::string ref;
};

void run_adjust(const CliContext& context, const AdjustOptions& o) {
  const CardId card = parse_card_or_fail(o.card);
  std::optional<TapId> tap;
  if (!o.tap.empty()) {
    tap = engine::parse_tap_reference(o.tap);
    if (!tap) fail("--tap '" + o.tap + "' is not a tap (READER:SEQUENCE, as history shows it: tap:17:5)", 2);
  }
  const std::string what = fmt::format("adjustment {:+} TWD card {}{}", o.amount, card.to_string(),
                                       tap ? " for " + engine::tap_reference(*tap) : std::string());
  nlohmann::json request = {{"op", "card_adjust"}, {"card", card.to_string()}, {"amount_minor", o.amount}};
  if (tap) request["tap"] = engine::tap_reference(*tap);
  if (!o.ref.empty()) request["ref"] = o.ref;
  nlohmann::json reply;
  if (auto answer = engine_request(context, with_reason(context, request))) {
    if (!answer->value("ok", false)) fail(answer->value("error", std::string("the engine refused")));
    reply = std::move(*answer);
  } else {
    engine::AdminCommand command;
    command.action = engine::AdminAction::adjust;
    command.card = card;
    command.amount_minor = o.amount;
    command.tap = tap;
    command.key = reference_or_fresh(o.ref);
    auto result = card_action_in_ledger(context, command);
    reply = {{"ok", true}, {"duplicate", result.duplicate}, {"pending", result.pending}, {"card", card.to_string()},
             {"status", std::string(card_status_name(result.card_status))}, {"wallet_minor", result.wallet_minor},
             {"points", result.points}, {"ref", command.key.to_string()}};
  }
  if (reply.value("pending", false) && !context.json) {
    std::cout << fmt::format("pending approval: ref {} ({} waits for a second supervisor)\n", reply.value("ref", std::string()),
                             what);
    return;
  }
  print_engine_action(context, reply, what);
}

}  // namespace

void add_card_adjust_command(CLI::App& cards, CliContext& context) {
  auto options = std::make_shared<AdjustOptions>();
  auto* adjust = cards.add_subcommand(
      "adjust", "correct a card's wallet: AMOUNT > 0 credits it (overcharged), < 0 debits it (a missed charge)");
  adjust->add_option("CARD,--card", options->card, "card id (hex)")->required();
  adjust->add_option("AMOUNT,--amount", options->amount, "TWD, signed, not 0 (write a debit as --amount=-20 or -- -20)")->required();
  adjust->add_option("--reason", context.reason, "why (required): the audit trail and the card's history say it")->required();
  adjust->add_option("--tap", options->tap,
                     "the tap it corrects, READER:SEQUENCE: its operator pays a credit back (or is paid a debit)");
  adjust->add_option("--ref", options->ref, "idempotency reference op:SOURCE:NUMBER; repeat it to retry safely");
  adjust->callback([&context, options] { run_adjust(context, *options); });
}

}  // namespace citycard::cli
