// Four eyes in the group builder (approvals.h): a refund over the limit is
// recorded as waiting; a second supervisor's decision carries it out through
// the same checks and transfer as any refund, or rejects it.
#include <fmt/format.h>

#include "admin_audit.h"
#include "approvals.h"
#include "group_builder.h"

namespace citycard::engine {

void GroupBuilder::answer_waiting(Draft& draft, const CardEntry& entry, const Approval& approval) {
  const AdminCommand& command = draft.admin;
  AdminResult& result = draft.admin_result;
  // The same refund asked again while it waits: it still waits, once.
  result.status = check_retry(command, action_fingerprint(refund_of(approval)));
  if (!result.status) return;
  if (approval.state == ApprovalState::rejected) {
    result.status = rejected_status(command);
    return;
  }
  result.duplicate = true;
  result.pending = approval.state == ApprovalState::pending;
  action_result(draft, entry);
}

void GroupBuilder::ask_approval(Draft& draft, CardEntry& entry) {
  const AdminCommand& command = draft.admin;
  AdminResult& result = draft.admin_result;
  // Recorded under its own key: the refund's stays free for the decision.
  draft.group.key = approval_request_key(command.key);
  draft.group.records.push_back(approval_record(approval_of(command)));
  AuditEntry audit = admin_audit_entry(
      command, fmt::format("refund {} TWD card {} waits for a second supervisor (over {} TWD): ref {}", command.amount_minor,
                           command.card.to_string(), context_.four_eyes_minor, command.key.to_string()));
  audit.ref = draft.group.key.to_string();
  audit.outcome = "pending";
  draft.group.records.push_back(audit_record(audit));
  // A second request racing this one posts as a duplicate of it: a retry.
  draft.group.outcome = action_fingerprint(command);
  draft.card = command.card;
  ++entry.pending;
  result.status = Status::ok();
  result.pending = true;
  action_result(draft, entry);
}

void GroupBuilder::decide_approval(Draft& draft) {
  const AdminCommand& command = draft.admin;
  AdminResult& result = draft.admin_result;
  const bool approve = command.action == AdminAction::approve;
  const std::string ref = command.key.to_string();
  auto found = load_approval(context_.ledger, command.key);
  if (!found) {
    result.status = found.status();
    return;
  }
  if (!found->has_value()) {
    result.status = Status::not_found("no refund " + ref + " waits for approval");
    return;
  }
  Approval approval = std::move(**found);
  if (approval.card != command.card) {
    result.status = Status::invalid_argument(fmt::format("refund {} is of card {}, not {}", ref, approval.card.to_string(),
                                                         command.card.to_string()));
    return;
  }
  if (command.operator_name.empty()) {
    result.status = Status::refused("deciding refund " + ref + " needs a signed-in supervisor");
    return;
  }
  const ApprovalState decision = approve ? ApprovalState::approved : ApprovalState::rejected;
  auto loaded = book_.load(command.card);
  if (!loaded) {
    result.status = loaded.status();
    return;
  }
  CardEntry* entry = *loaded;
  if (entry == nullptr) {
    result.status = Status::not_found("no card " + command.card.to_string());
    return;
  }
  if (approval.state != ApprovalState::pending) {
    // The same supervisor's same decision again (a lost reply) is a retry.
    if (approval.state == decision && approval.decided_by == command.operator_name) {
      result.status = Status::ok();
      result.duplicate = true;
      action_result(draft, *entry);
      return;
    }
    result.status = Status::refused(fmt::format("refund {} was already {} by {}", ref, approval_state_name(approval.state),
                                                approval.decided_by));
    return;
  }
  // Four eyes: whoever asked, whatever his role, does not decide.
  if (command.operator_name == approval.clerk) {
    result.status = Status::refused(fmt::format(
        "clerk {} ({}) may not {} refund {}: {} asked for it; a second supervisor must decide", command.operator_name,
        command.clerk_role, approve ? "approve" : "reject", ref, approval.clerk));
    return;
  }
  AdminCommand refund = refund_of(approval);
  refund.time = command.time;  // the money moves now
  if (approve) {
    // The wallet of this moment: the card may have been used since.
    result.status = money_allowed(*entry, refund);
    if (!result.status) return;
    add_money(draft, *entry, refund);
  }
  approval.state = decision;
  approval.decided_by = command.operator_name;
  approval.decided_role = command.clerk_role;
  approval.decided_reason = command.reason;
  approval.decided_at = command.time;
  draft.group.records.push_back(approval_record(approval));
  AuditEntry audit = admin_audit_entry(
      command, fmt::format("{}refund {} TWD card {} asked for by {} ({}){}", approve ? "" : "no money moved: ", approval.amount_minor,
                           approval.card.to_string(), approval.clerk, approval.role,
                           approval.reason.empty() ? std::string() : ": " + approval.reason));
  audit.amount_minor = approval.amount_minor;
  audit.outcome = std::string(approval_state_name(decision));
  // A retry of the refund itself is then a duplicate, or told it was rejected.
  const std::string fingerprint = action_fingerprint(refund);
  draft.group.outcome = approve ? fingerprint : rejected_outcome(fingerprint);
  finish_action(draft, *entry, audit);
}

Status GroupBuilder::rejected_status(const AdminCommand& refund) {
  const std::string ref = refund.key.to_string();
  auto found = load_approval(context_.ledger, refund.key);
  if (!found) return found.status();
  if (!found->has_value() || (*found)->state != ApprovalState::rejected) {
    return Status::refused("refund " + ref + " was rejected; nothing was refunded");
  }
  const Approval& approval = **found;
  return Status::refused(fmt::format("refund {} was rejected by {}{}; nothing was refunded", ref, approval.decided_by,
                                     approval.decided_reason.empty() ? std::string() : " (" + approval.decided_reason + ")"));
}

}  // namespace citycard::engine
