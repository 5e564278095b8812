// Four eyes in the group builder (approvals.h): a refund or adjustment over
// the limit is recorded as waiting; a second supervisor's decision carries
// it out through the same checks and transfers as any other (plan_money),
// or rejects it.
#include <fmt/format.h>

#include "admin_audit.h"
#include "approvals.h"
#include "group_builder.h"
#include "tap_adjustments.h"

namespace citycard::engine {
namespace {

// "refund 2500 TWD card 04A1", "adjustment -300 TWD card 04A1 for tap:17:5"
std::string describe_waiting(const Approval& approval) {
  std::string text = approval.action == AdminAction::adjust
                         ? fmt::format("adjustment {:+} TWD card {}", approval.amount_minor, approval.card.to_string())
                         : fmt::format("refund {} TWD card {}", approval.amount_minor, approval.card.to_string());
  if (approval.tap) text += " for " + tap_reference(*approval.tap);
  return text;
}

}  // namespace

void GroupBuilder::answer_waiting(Draft& draft, const CardEntry& entry, const Approval& approval) {
  const AdminCommand& command = draft.admin();
  AdminResult& result = draft.admin_result();
  // The same request asked again while it waits: it still waits, once.
  result.status = check_retry(command, action_fingerprint(request_of(approval)));
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
  const AdminCommand& command = draft.admin();
  AdminResult& result = draft.admin_result();
  // Recorded under its own key: the request's stays free for the decision.
  draft.group.key = approval_request_key(command.key);
  const Approval approval = approval_of(command);
  draft.group.records.push_back(approval_record(approval));
  AuditEntry audit = admin_audit_entry(command, fmt::format("{} waits for a second supervisor (over {} TWD): ref {}",
                                                            describe_waiting(approval), context_.four_eyes_minor,
                                                            command.key.to_string()));
  audit.ref = draft.group.key.to_string();
  audit.outcome = "pending";
  draft.group.records.push_back(audit_record(audit));
  // A second request racing this one posts as a duplicate of it: a retry.
  draft.group.outcome = action_fingerprint(command);
  draft.card = command.card;
  book_.hold(entry);
  result.status = Status::ok();
  result.pending = true;
  action_result(draft, entry);
}

void GroupBuilder::decide_approval(Draft& draft) {
  const AdminCommand& command = draft.admin();
  AdminResult& result = draft.admin_result();
  const bool approve = command.action == AdminAction::approve;
  const std::string ref = command.key.to_string();
  auto found = load_approval(context_.ledger, command.key);
  if (!found) {
    result.status = found.status();
    return;
  }
  if (!found->has_value()) {
    result.status = Status::not_found("no refund or adjustment " + ref + " waits for approval");
    return;
  }
  Approval approval = std::move(**found);
  const std::string_view noun = approval_action_name(approval);
  if (approval.card != command.card) {
    result.status = Status::invalid_argument(fmt::format("{} {} is of card {}, not {}", noun, ref, approval.card.to_string(),
                                                         command.card.to_string()));
    return;
  }
  if (command.operator_name.empty()) {
    result.status = Status::refused(fmt::format("deciding {} {} needs a signed-in supervisor", noun, ref));
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
    result.status = Status::refused(fmt::format("{} {} was already {} by {}", noun, ref, approval_state_name(approval.state),
                                                approval.decided_by));
    return;
  }
  // Four eyes: whoever asked, whatever his role, does not decide.
  if (command.operator_name == approval.clerk) {
    result.status = Status::refused(fmt::format(
        "clerk {} ({}) may not {} {} {}: {} asked for it; a second supervisor must decide", command.operator_name,
        command.clerk_role, approve ? "approve" : "reject", noun, ref, approval.clerk));
    return;
  }
  AdminCommand request = request_of(approval);
  request.time = command.time;  // the money moves now
  if (approve) {
    // The card as it is now: it may have been used since.
    auto move = plan_money(*entry, request);
    if (!move) {
      result.status = move.status();
      return;
    }
    apply_money(draft, *entry, std::move(*move));
  }
  approval.state = decision;
  approval.decided_by = command.operator_name;
  approval.decided_role = command.clerk_role;
  approval.decided_reason = command.reason;
  approval.decided_at = command.time;
  draft.group.records.push_back(approval_record(approval));
  AuditEntry audit = admin_audit_entry(
      command, fmt::format("{}{} asked for by {} ({}){}", approve ? "" : "no money moved: ", describe_waiting(approval),
                           approval.clerk, approval.role, approval.reason.empty() ? std::string() : ": " + approval.reason));
  audit.action = std::string(noun);
  audit.amount_minor = approval.amount_minor;
  if (approval.tap) audit.tap = tap_reference(*approval.tap);
  audit.outcome = std::string(approval_state_name(decision));
  // A retry of the request itself is then a duplicate, or told it was rejected.
  const std::string fingerprint = action_fingerprint(request);
  draft.group.outcome = approve ? fingerprint : rejected_outcome(fingerprint);
  finish_action(draft, *entry, audit);
}

Status GroupBuilder::rejected_status(const AdminCommand& request) {
  const std::string ref = request.key.to_string();
  const std::string_view noun = fingerprint_action_name(request.action);
  auto found = load_approval(context_.ledger, request.key);
  if (!found) return found.status();
  if (!found->has_value() || (*found)->state != ApprovalState::rejected) {
    return Status::refused(fmt::format("{} {} was rejected; nothing moved", noun, ref));
  }
  const Approval& approval = **found;
  return Status::refused(fmt::format("{} {} was rejected by {}{}; nothing moved", noun, ref, approval.decided_by,
                                     approval.decided_reason.empty() ? std::string() : " (" + approval.decided_reason + ")"));
}

}  // namespace citycard::engine
