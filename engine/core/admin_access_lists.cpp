// Access lists through the running engine (access_desk.h); the CLI does the
// same on a stopped ledger (engine/cli/commands_access.cpp).
#include "admin_api.h"

namespace citycard::engine {

using json = nlohmann::json;

void AdminApi::handle_access(const std::string& op, const json& request, const Clerk* clerk, std::function<void(json)> reply) {
  if (op == "access_show") return reply(access_.show());
  if (op != "access_change") return reply(error_reply(Status::invalid_argument("unknown op '" + op + "' (access_show, access_change)")));
  if (!request.contains("change") || !request["change"].is_object()) {
    return reply(error_reply(Status::invalid_argument("'change' (an object, docs/access.md) is required")));
  }
  const OfficeActor actor = office_actor(request, clerk);
  auto plan = access_.change(request["change"], actor);
  if (!plan) return reply(error_reply(plan.status()));
  json answer = access_.show();
  answer["action"] = plan->action;
  answer["detail"] = plan->detail;
  answer["ref"] = actor.key.to_string();
  reply(std::move(answer));
}

}  // namespace citycard::engine
