// Four eyes through the running engine (docs/clerks.md): the waiting
// refunds and adjustments are read from the ledger; a decision goes through
// the shard of the request's card, where the group builder applies the rule
// (engine/groups/approvals.h) as it does on a stopped ledger.
#include <chrono>

#include "admin_api.h"
#include "approvals.h"

namespace citycard::engine {

using json = nlohmann::json;

Result<AdminApi::Decision> AdminApi::decision_command(const std::string& op, const json& request) const {
  // The waiting request's own reference: the decision is posted under it.
  auto ref = request.contains("ref") && request["ref"].is_string() ? IdempotencyKey::parse(request["ref"].get<std::string>())
                                                                    : std::nullopt;
  if (!ref || ref->origin != Origin::operator_action) {
    return Status::invalid_argument("'ref' (the waiting request's op:SOURCE:NUMBER) is required");
  }
  // Its card, to reach the card's shard; the shard reads the record again
  // (and refuses, recording it, one that does not wait).
  auto approval = load_approval(ledger_, *ref);
  if (!approval) return approval.status();
  Decision decision;
  decision.action = approval->has_value() ? std::string(approval_action_name(**approval)) : "refund";
  AdminCommand& command = decision.command;
  command.action = op == "approval_approve" ? AdminAction::approve : AdminAction::reject;
  if (approval->has_value()) command.card = (*approval)->card;
  command.key = *ref;
  command.time = EventTime{
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count()};
  return decision;
}

void AdminApi::handle_approval(const std::string& op, const json& request, const Clerk* clerk,
                               std::function<void(json)> reply) {
  if (op == "approval_list") {
    auto approvals = list_approvals(ledger_, !request.value("all", false));
    if (!approvals) return reply(error_reply(approvals.status()));
    json rows = json::array();
    for (const Approval& approval : *approvals) rows.push_back(approval_json(approval));
    return reply(json{{"ok", true}, {"approvals", rows}});
  }
  if (op != "approval_approve" && op != "approval_reject") {
    return reply(error_reply(
        Status::invalid_argument("unknown op '" + op + "' (approval_list, approval_approve, approval_reject)")));
  }
  auto decision = decision_command(op, request);
  if (!decision) return reply(error_reply(decision.status()));
  AdminCommand command = std::move(decision->command);
  const std::string action = decision->action;
  const IdempotencyKey ref = command.key;
  sign(command, clerk, request);
  const std::string state = command.action == AdminAction::approve ? "approved" : "rejected";
  engine_.admin(std::move(command), [reply = std::move(reply), ref = ref.to_string(), state, action](AdminResult result) {
    json out = result_json(result);
    out["ref"] = ref;
    if (result.status) {
      out["state"] = state;
      out["action"] = action;
    }
    reply(std::move(out));
  });
}

}  // namespace citycard::engine
