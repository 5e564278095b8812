#include "ledger_approvals.h"

#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/groups/approvals.h"
#include "ledger_card_actions.h"
#include "ledger_clerk.h"
#include "ledger_engine_client.h"
#include "ledger_support.h"

namespace citycard::cli {
namespace {

struct ApprovalOptions {
  std::string ref;
  bool all = false;
};

// "3h 12m", for people scanning the list for what has waited longest.
std::string age_of(std::int64_t asked_at_us) {
  const std::int64_t minutes = std::max<std::int64_t>(0, (now().unix_us - asked_at_us) / 60'000'000);
  if (minutes < 60) return fmt::format("{}m", minutes);
  if (minutes < 48 * 60) return fmt::format("{}h {}m", minutes / 60, minutes % 60);
  return fmt::format("{}d {}h", minutes / (24 * 60), minutes / 60 % 24);
}

void run_list(const CliContext& context, bool all) {
  require_clerk(context, ClerkAction::look_up);
  nlohmann::json rows;
  if (auto reply = engine_request(context, {{"op", "approval_list"}, {"all", all}})) {
    if (!reply->value("ok", false)) fail(reply->value("error", std::string("the engine refused")));
    rows = (*reply)["approvals"];
  } else {
    auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
    auto approvals = engine::list_approvals(*ledger, !all);
    if (!approvals) fail(approvals.status().message());
    rows = nlohmann::json::array();
    for (const auto& approval : *approvals) rows.push_back(engine::approval_json(approval));
  }
  if (context.json) {
    std::cout << rows.dump() << "\n";
    return;
  }
  for (const auto& row : rows) {
    const std::string state = row.value("state", std::string());
    const std::string reason = row.value("reason", std::string());
    const std::string action = row.value("action", std::string("refund"));
    const std::string tap = row.value("tap", std::string());
    std::cout << fmt::format("{}  {}card {}  {} TWD{}  asked by {} ({}) {} ago{}  {}{}\n", row.value("ref", std::string()),
                             action == "refund" ? "" : action + "  ", row.value("card", std::string()),
                             row.value("amount_minor", std::int64_t{0}), tap.empty() ? "" : " for " + tap,
                             row.value("clerk", std::string()), row.value("role", std::string()),
                             age_of(row.value("asked_at_us", std::int64_t{0})), reason.empty() ? "" : ": " + reason, state,
                             state == "pending" ? "" : " by " + row.value("decided_by", std::string()));
  }
  if (rows.empty()) {
    std::cout << (all ? "(no refund or adjustment ever waited for approval)\n" : "(no refunds or adjustments wait for approval)\n");
  }
}

void run_decide(const CliContext& context, const std::string& ref_text, bool approve) {
  // The role is checked where the decision is made (the engine, or
  // card_action_in_ledger), so a refusal is recorded there.
  auto ref = IdempotencyKey::parse(ref_text);
  if (!ref || ref->origin != Origin::operator_action) {
    fail("'" + ref_text + "' is not the reference of a waiting refund or adjustment (op:SOURCE:NUMBER)", 2);
  }
  const char* done = approve ? "approved" : "rejected";
  nlohmann::json reply;
  nlohmann::json request = {{"op", approve ? "approval_approve" : "approval_reject"}, {"ref", ref->to_string()}};
  if (auto answer = engine_request(context, with_reason(context, request))) {
    if (!answer->value("ok", false)) fail(answer->value("error", std::string("the engine refused")));
    reply = std::move(*answer);
  } else {
    engine::AdminCommand command;
    command.action = approve ? engine::AdminAction::approve : engine::AdminAction::reject;
    command.key = *ref;  // the card is the waiting request's (card_action_in_ledger)
    auto result = card_action_in_ledger(context, command);
    // What was decided, as the engine's reply names it.
    auto ledger = open_ledger_or_fail(context, LedgerAccess::read_only);
    auto decided = engine::load_approval(*ledger, *ref);
    if (!decided) fail(decided.status().message());
    reply = {{"ok", true}, {"duplicate", result.duplicate}, {"ref", ref->to_string()}, {"state", done},
             {"action", decided->has_value() ? std::string(engine::approval_action_name(**decided)) : "refund"},
             {"card", result.card.to_string()}, {"wallet_minor", result.wallet_minor}};
  }
  if (context.json) {
    std::cout << reply.dump() << "\n";
    return;
  }
  std::cout << fmt::format("{} {} {}{}: card {} wallet {} TWD\n", reply.value("action", std::string("refund")), ref->to_string(),
                           reply.value("duplicate", false) ? "already " : "", done, reply.value("card", std::string()),
                           reply.value("wallet_minor", std::int64_t{0}));
}

}  // namespace

void add_approvals_command(CLI::App& app, CliContext& context) {
  auto options = std::make_shared<ApprovalOptions>();
  auto* approvals = app.add_subcommand("approvals", "refunds and adjustments waiting for a second supervisor (four eyes)");
  approvals->require_subcommand(1);
  auto* list = approvals->add_subcommand("list", "what waits: reference, action, card, amount, who asked, why, how long ago");
  list->add_flag("--all", options->all, "also those approved or rejected");
  list->callback([&context, options] { run_list(context, options->all); });
  for (bool approve : {true, false}) {
    auto* decide = approvals->add_subcommand(approve ? "approve" : "reject",
                                             approve ? "carry out a waiting refund or adjustment (a supervisor other than the one who asked)"
                                                     : "reject a waiting refund or adjustment; no money moves");
    decide->add_option("REF", options->ref, "its reference (op:SOURCE:NUMBER)")->required();
    decide->add_option("--reason", context.reason, "why, for the audit trail");
    decide->callback([&context, options, approve] { run_decide(context, options->ref, approve); });
  }
}

}  // namespace citycard::cli
