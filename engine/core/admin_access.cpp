#include "admin_access.h"

#include <array>
#include <utility>

#include "admin_api.h"
#include "engine/pki/clerk_credentials.h"

namespace citycard::engine {

using nlohmann::json;

std::optional<ClerkAction> admin_op_action(std::string_view op) {
  static constexpr std::array<std::pair<std::string_view, ClerkAction>, 37> table{{
      {"balance", ClerkAction::look_up},
      {"history", ClerkAction::look_up},
      {"taps", ClerkAction::look_up},
      {"reader_list", ClerkAction::look_up},
      {"reader_show", ClerkAction::look_up},
      {"topup", ClerkAction::top_up},
      {"refund", ClerkAction::refund},
      {"card_adjust", ClerkAction::adjust},
      {"block", ClerkAction::card_status},
      {"unblock", ClerkAction::card_status},
      {"lost", ClerkAction::card_status},
      {"card_auto_top_up", ClerkAction::card_status},
      {"replace", ClerkAction::replace},
      {"reader_add", ClerkAction::reader_manage},
      {"reader_suspend", ClerkAction::reader_manage},
      {"reader_retire", ClerkAction::reader_manage},
      {"reader_activate", ClerkAction::reader_manage},
      {"reload_pki", ClerkAction::reload_pki},
      {"card_import", ClerkAction::card_issue},
      {"card_eligibility", ClerkAction::card_issue},
      {"operator_add", ClerkAction::operator_add},
      {"transfers_import", ClerkAction::transfers_import},
      {"settle_close", ClerkAction::settle_close},
      {"settle_ack", ClerkAction::settle_close},
      {"settle_resend", ClerkAction::settle_close},
      {"settle_job", ClerkAction::settle_close},
      {"approval_list", ClerkAction::look_up},
      {"approval_approve", ClerkAction::approve},
      {"approval_reject", ClerkAction::approve},
      {"rules_show", ClerkAction::look_up},
      {"rules_load", ClerkAction::rules_load},
      {"records_retain", ClerkAction::records_retain},
      {"card_link", ClerkAction::card_link},
      {"card_unlink", ClerkAction::card_link},
      {"card_merge", ClerkAction::card_merge},
      {"access_show", ClerkAction::look_up},
      {"access_change", ClerkAction::access_manage},
  }};
  for (const auto& [name, action] : table) {
    if (name == op) return action;
  }
  return std::nullopt;
}

std::string admin_op_of(const json& request) {
  if (!request.is_object()) return {};
  auto op = request.find("op");
  return op != request.end() && op->is_string() ? op->get<std::string>() : std::string();
}

std::optional<json> AdminSession::sign_in_step(const json& request) {
  const std::string op = admin_op_of(request);
  if (op == "sign_in_challenge") {
    challenge_ = pki::new_challenge();
    return json{{"ok", true}, {"challenge", challenge_}};
  }
  if (op != "sign_in") return std::nullopt;
  if (challenge_.empty()) return error_reply(Status::invalid_argument("ask for a challenge first (sign_in_challenge)"));
  const std::string challenge = std::exchange(challenge_, std::string());  // one try per challenge
  if (!request.contains("certificate") || !request["certificate"].is_string() || !request.contains("signature") ||
      !request["signature"].is_string()) {
    return error_reply(Status::invalid_argument("sign_in needs 'certificate' (PEM) and 'signature' (hex)"));
  }
  pki::ClerkProof proof{request["certificate"].get<std::string>(), request["signature"].get<std::string>()};
  auto clerk = pki::verify_clerk(pki_dir_, proof, challenge);
  if (!clerk) {
    clerk_.reset();
    return error_reply(clerk.status());
  }
  clerk_ = *clerk;
  return json{{"ok", true}, {"clerk", clerk_->name}, {"role", std::string(clerk_role_name(clerk_->role))}};
}

Status AdminSession::allow(std::string_view op) const {
  if (op == "ping") return Status::ok();
  if (!clerk_) {
    return Status::refused("sign in as a clerk first (citycard --clerk PKI/clerks/NAME, or CITYCARD_CLERK)");
  }
  auto action = admin_op_action(op);
  if (!action || role_allows(clerk_->role, *action)) return Status::ok();
  return Status::refused("clerk " + clerk_->name + " (" + std::string(clerk_role_name(clerk_->role)) + ") may not " +
                         std::string(clerk_action_name(*action)));
}

}  // namespace citycard::engine
