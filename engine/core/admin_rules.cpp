// Rule set versions through the running engine (rule_desk.h); the CLI does
// the same on a stopped ledger (engine/cli/commands_rules.cpp).
#include "admin_api.h"

#include <chrono>

namespace citycard::engine {

using json = nlohmann::json;

void AdminApi::handle_rules(const std::string& op, const json& request, const Clerk* clerk, std::function<void(json)> reply) {
  const OfficeActor actor = office_actor(request, clerk);
  if (op == "rules_show") return reply(rules_.show(actor.time));
  if (op != "rules_load") return reply(error_reply(Status::invalid_argument("unknown op '" + op + "' (rules_load, rules_show)")));
  if (!request.contains("text") || !request["text"].is_string()) {
    return reply(error_reply(Status::invalid_argument("'text' (the rule file's contents) is required")));
  }
  RuleFile file{request.value("source", std::string("rules_load")), request["text"].get<std::string>()};
  auto plan = rules_.load(file, actor, actor.time);
  if (!plan) return reply(error_reply(plan.status()));
  json answer = rules_.show(actor.time);
  answer["version"] = plan->installed.rules->version;
  answer["already_installed"] = plan->already_installed;
  reply(std::move(answer));
}

}  // namespace citycard::engine
