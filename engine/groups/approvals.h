// Four eyes: a refund of more than the configured limit
// (limits::four_eyes_minor_default, [admin] four_eyes_minor), or an
// adjustment whose amount is more than it either way, is not carried out
// when a clerk asks for it. The group builder records it as waiting, and a
// second supervisor -- never the clerk who asked -- approves it (its money
// moves then, through the card's shard, with the checks of that moment) or
// rejects it (no money moves). This file owns the record; the rule lives in
// the group builder (group_approvals.cpp), so the engine's shards and the
// CLI on a stopped ledger apply the same one.
//
// Writes, each one posting group (one ledger write):
//   asked     key apv:S:N  records: approval (pending), audit (outcome pending, key apv:S:N)
//   approved  key op:S:N   the request's transfers (wallet -> refunds; an
//                          adjustment's, and its tap's record), card state,
//                          approval (approved), audit (outcome approved, key op:S:N)
//   rejected  key op:S:N   approval (rejected), audit (outcome rejected, key op:S:N)
// The request's own reference op:S:N is posted only by its decision, so a
// retry of the request after approval is an ordinary duplicate, and two
// decisions racing for one request cannot both post (the ledger keeps one).
//
// Record (RecordSpace::approvals, key = the request's reference "op:S:N"):
// a JSON object with sorted keys
//   {"action", "amount_minor", "asked_at_us", "card", "clerk", "decided_at_us",
//    "decided_by", "decided_reason", "decided_role", "reason", "role", "state", "tap"}
// action is refund | adjustment (absent in records written before
// adjustments: a refund); tap is an adjustment's "tap:R:S" or empty; state
// is pending | approved | rejected; decided_* are empty until decided.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "admin_command.h"
#include "citycard/ids.h"
#include "citycard/status.h"
#include "citycard/time.h"
#include "ledger/ledger.h"

namespace citycard::engine {

enum class ApprovalState : std::uint8_t { pending = 1, approved = 2, rejected = 3 };

std::string_view approval_state_name(ApprovalState state) noexcept;

struct Approval {
  IdempotencyKey ref;              // the request's op:S:N
  AdminAction action = AdminAction::refund;  // refund or adjust
  CardId card;
  std::int64_t amount_minor = 0;   // an adjustment's signed
  std::optional<TapId> tap;        // the tap an adjustment names
  EventTime asked_at;
  std::string clerk;               // who asked, and his role and reason
  std::string role;
  std::string reason;
  ApprovalState state = ApprovalState::pending;
  std::string decided_by;          // the second supervisor, once decided
  std::string decided_role;
  std::string decided_reason;
  EventTime decided_at;
};

// A request that must wait: a refund of more than `limit_minor`, an
// adjustment of more than it either way (0: none must).
constexpr bool needs_approval(const AdminCommand& command, std::int64_t limit_minor) noexcept {
  if (limit_minor <= 0) return false;
  if (command.action == AdminAction::refund) return command.amount_minor > limit_minor;
  if (command.action == AdminAction::adjust) return command.amount_minor > limit_minor || command.amount_minor < -limit_minor;
  return false;
}

// The key of the write that records request `ref` as waiting (apv:S:N).
IdempotencyKey approval_request_key(const IdempotencyKey& ref);

// The waiting request a refund or adjustment command makes.
Approval approval_of(const AdminCommand& request);
// The request an approval carries out, as the clerk who asked for it.
AdminCommand request_of(const Approval& approval);
// "refund" or "adjustment", for people.
std::string_view approval_action_name(const Approval& approval) noexcept;

// For the admin API and the CLI: {"ref", "action", "card", "amount_minor",
// "tap", "asked_at_us", "clerk", "role", "reason", "state", "decided_by",
// "decided_role", "decided_reason", "decided_at_us"}.
nlohmann::json approval_json(const Approval& approval);

std::string encode_approval(const Approval& approval);
// corruption when the body is not an approval of `ref`.
Result<Approval> decode_approval(const IdempotencyKey& ref, std::string_view body);
ledger::RecordWrite approval_record(const Approval& approval);

// The approval of request `ref`, or nullopt when it never waited.
Result<std::optional<Approval>> load_approval(const ledger::Ledger& ledger, const IdempotencyKey& ref);
// Every approval in one snapshot, in reference order; only those waiting
// when `pending_only`.
Result<std::vector<Approval>> list_approvals(const ledger::Ledger& ledger, bool pending_only);

// The outcome stored with a rejection's group: a retry of the request is
// told it was rejected, not that its reference was used for another request.
std::string rejected_outcome(std::string_view request_fingerprint);
// The request's fingerprint when `stored` is a rejection's outcome.
std::optional<std::string_view> rejected_fingerprint(std::string_view stored) noexcept;

}  // namespace citycard::engine
