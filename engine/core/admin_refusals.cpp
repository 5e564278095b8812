// Requests the role table refused, in the audit trail (engine/groups/
// refusals.h): the engine writes the entry through the card's shard, like
// the card action it would have been, so a refusal costs no write of its
// own (it rides the shard's group commit) and the builder names it as it
// names every card action, on this path and on a stopped ledger alike.
#include <algorithm>
#include <chrono>

#include "admin_access.h"
#include "admin_api.h"

namespace citycard::engine {

using json = nlohmann::json;

void AdminApi::refuse(const json& request, const Clerk& clerk, Status refusal, std::function<void(json)> reply) {
  const std::string op = admin_op_of(request);
  auto card = card_field(request, "card");
  auto parsed = card ? card_command(op, request, *card) : Result<AdminCommand>(card.status());
  auto decision = op == "approval_approve" || op == "approval_reject" ? decision_command(op, request)
                                                                      : Result<Decision>(Status::invalid_argument("no decision"));
  AdminCommand command;
  if (parsed) {
    command = std::move(*parsed);
    // Its own reference when it has one, as the action would have used.
    auto key = action_key(request);
    command.key = key ? *key : fresh_key();
  } else if (decision) {
    // On the waiting request's card and reference, as the CLI names it on a stopped ledger.
    command = std::move(decision->command);
  } else {
    // No card action (an import, a reader, the day's close): the refusal
    // gets a reference of its own.
    // Named as the action's own entries name it ("settle close", "card
    // import", "reader add"), so the two read alike in the trail.
    command.action = AdminAction::record_refusal;
    command.op = op;
    std::replace(command.op.begin(), command.op.end(), '_', ' ');
    if (card) command.card = *card;
    if (request.contains("amount_minor") && request["amount_minor"].is_number_integer()) {
      command.amount_minor = request["amount_minor"].get<std::int64_t>();
    }
    command.time = EventTime{
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count()};
    command.key = fresh_key();
  }
  sign(command, &clerk, request);
  command.refusal = refusal;
  // Answered with the refusal whether or not the entry could be written;
  // when it could not (the engine busy or stopping), the reply says so.
  engine_.admin(std::move(command), [reply = std::move(reply), refusal](const AdminResult& result) {
    json out = error_reply(refusal);
    if (result.status.code() != refusal.code() || result.status.message() != refusal.message()) {
      out["audit_error"] = "the refusal was not recorded: " + result.status.to_string();
    }
    reply(std::move(out));
  });
}

}  // namespace citycard::engine
