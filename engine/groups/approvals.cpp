#include "approvals.h"

#include "tap_adjustments.h"

namespace citycard::engine {
namespace {

constexpr std::string_view rejected_prefix = "rejected1 ";

std::optional<ApprovalState> parse_state(std::string_view text) {
  for (ApprovalState state : {ApprovalState::pending, ApprovalState::approved, ApprovalState::rejected}) {
    if (approval_state_name(state) == text) return state;
  }
  return std::nullopt;
}

}  // namespace

std::string_view approval_state_name(ApprovalState state) noexcept {
  switch (state) {
    case ApprovalState::pending: return "pending";
    case ApprovalState::approved: return "approved";
    case ApprovalState::rejected: return "rejected";
  }
  return "?";
}

IdempotencyKey approval_request_key(const IdempotencyKey& ref) { return {Origin::approval, ref.source, ref.sequence}; }

Approval approval_of(const AdminCommand& request) {
  Approval approval;
  approval.ref = request.key;
  approval.action = request.action;
  approval.card = request.card;
  approval.amount_minor = request.amount_minor;
  approval.tap = request.tap;
  approval.asked_at = request.time;
  approval.clerk = request.operator_name;
  approval.role = request.clerk_role;
  approval.reason = request.reason;
  return approval;
}

AdminCommand request_of(const Approval& approval) {
  AdminCommand request;
  request.action = approval.action;
  request.card = approval.card;
  request.amount_minor = approval.amount_minor;
  request.tap = approval.tap;
  request.key = approval.ref;
  request.time = approval.asked_at;
  request.operator_name = approval.clerk;
  request.clerk_role = approval.role;
  request.reason = approval.reason;
  return request;
}

std::string_view approval_action_name(const Approval& approval) noexcept {
  return approval.action == AdminAction::adjust ? "adjustment" : "refund";
}

nlohmann::json approval_json(const Approval& approval) {
  auto out = nlohmann::json::parse(encode_approval(approval));
  out["ref"] = approval.ref.to_string();
  return out;
}

std::string encode_approval(const Approval& approval) {
  return nlohmann::json{{"action", std::string(approval_action_name(approval))},
                        {"card", approval.card.to_string()},
                        {"amount_minor", approval.amount_minor},
                        {"tap", approval.tap ? tap_reference(*approval.tap) : std::string()},
                        {"asked_at_us", approval.asked_at.unix_us},
                        {"clerk", approval.clerk},
                        {"role", approval.role},
                        {"reason", approval.reason},
                        {"state", std::string(approval_state_name(approval.state))},
                        {"decided_by", approval.decided_by},
                        {"decided_role", approval.decided_role},
                        {"decided_reason", approval.decided_reason},
                        {"decided_at_us", approval.decided_at.unix_us}}
      .dump();
}

Result<Approval> decode_approval(const IdempotencyKey& ref, std::string_view body) {
  auto bad = [&](const std::string& what) {
    return Status::corruption("approval record " + ref.to_string() + ": " + what);
  };
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return bad("not a JSON object");
  // get<std::int64_t>() casts a float, in or out of int64's range (undefined): whole numbers only.
  for (const char* key : {"amount_minor", "asked_at_us", "decided_at_us"}) {
    auto it = parsed.find(key);
    if (it != parsed.end() &&
        (!it->is_number_integer() || (it->is_number_unsigned() && it->get<std::uint64_t>() > INT64_MAX))) {
      return bad(std::string(key) + " is not a whole number");
    }
  }
  try {
    Approval approval;
    approval.ref = ref;
    // Records from before adjustments waited name no action: refunds.
    const std::string action = parsed.value("action", std::string("refund"));
    if (action != "refund" && action != "adjustment") return bad("unknown action '" + action + "'");
    approval.action = action == "adjustment" ? AdminAction::adjust : AdminAction::refund;
    auto card = CardId::parse(parsed.at("card").get<std::string>());
    if (!card) return bad("no card");
    approval.card = *card;
    approval.amount_minor = parsed.at("amount_minor").get<std::int64_t>();
    if (const std::string tap = parsed.value("tap", std::string()); !tap.empty()) {
      approval.tap = parse_tap_reference(tap);
      if (!approval.tap) return bad("tap '" + tap + "' is not a tap");
    }
    approval.asked_at = EventTime{parsed.at("asked_at_us").get<std::int64_t>()};
    approval.clerk = parsed.at("clerk").get<std::string>();
    approval.role = parsed.at("role").get<std::string>();
    approval.reason = parsed.at("reason").get<std::string>();
    auto state = parse_state(parsed.at("state").get<std::string>());
    if (!state) return bad("unknown state");
    approval.state = *state;
    approval.decided_by = parsed.at("decided_by").get<std::string>();
    approval.decided_role = parsed.at("decided_role").get<std::string>();
    approval.decided_reason = parsed.at("decided_reason").get<std::string>();
    approval.decided_at = EventTime{parsed.at("decided_at_us").get<std::int64_t>()};
    return approval;
  } catch (const nlohmann::json::exception& error) {
    return bad(error.what());
  }
}

ledger::RecordWrite approval_record(const Approval& approval) {
  return ledger::RecordWrite{ledger::RecordSpace::approvals, approval.ref.to_string(), encode_approval(approval)};
}

Result<std::optional<Approval>> load_approval(const ledger::Ledger& ledger, const IdempotencyKey& ref) {
  auto body = ledger.record(ledger::RecordSpace::approvals, ref.to_string());
  if (!body) {
    if (body.status().code() == StatusCode::not_found) return std::optional<Approval>();
    return body.status();
  }
  auto approval = decode_approval(ref, *body);
  if (!approval) return approval.status();
  return std::optional<Approval>(std::move(*approval));
}

Result<std::vector<Approval>> list_approvals(const ledger::Ledger& ledger, bool pending_only) {
  std::vector<Approval> out;
  Status problem = Status::ok();
  auto snapshot = ledger.snapshot();
  Status scanned = snapshot->scan_records(ledger::RecordSpace::approvals, "", [&](std::string_view key, std::string_view value) {
    auto ref = IdempotencyKey::parse(key);
    if (!ref) {
      problem = Status::corruption("approval record under '" + std::string(key) + "', not a reference");
      return false;
    }
    auto approval = decode_approval(*ref, value);
    if (!approval) {
      problem = approval.status();
      return false;
    }
    if (!pending_only || approval->state == ApprovalState::pending) out.push_back(std::move(*approval));
    return true;
  });
  if (!scanned) return scanned;
  if (!problem) return problem;
  return out;
}

std::string rejected_outcome(std::string_view request_fingerprint) {
  return std::string(rejected_prefix) + std::string(request_fingerprint);
}

std::optional<std::string_view> rejected_fingerprint(std::string_view stored) noexcept {
  if (stored.substr(0, rejected_prefix.size()) != rejected_prefix) return std::nullopt;
  return stored.substr(rejected_prefix.size());
}

}  // namespace citycard::engine
