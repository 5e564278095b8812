// Four eyes: a refund of more than the configured limit
// (limits::four_eyes_minor_default, [admin] four_eyes_minor) is not posted
// when a clerk asks for it. The group builder records it as waiting, and a
// second supervisor -- never the clerk who asked -- approves it (the refund
// is posted then, through the card's shard, with the wallet check of that
// moment) or rejects it (no money moves). This file owns the record; the
// rule lives in the group builder (group_approvals.cpp), so the engine's
// shards and the CLI on a stopped ledger apply the same one.
//
// Writes, each one posting group (one ledger write):
//   asked     key apv:S:N  records: approval (pending), audit (outcome pending, key apv:S:N)
//   approved  key op:S:N   transfer wallet -> refunds, card state,
//                          approval (approved), audit (outcome approved, key op:S:N)
//   rejected  key op:S:N   approval (rejected), audit (outcome rejected, key op:S:N)
// The refund's own reference op:S:N is posted only by its decision, so a
// retry of the refund after approval is an ordinary duplicate, and two
// decisions racing for one refund cannot both post (the ledger keeps one).
//
// Record (RecordSpace::approvals, key = the refund's reference "op:S:N"):
// a JSON object with sorted keys
//   {"amount_minor", "asked_at_us", "card", "clerk", "decided_at_us",
//    "decided_by", "decided_reason", "decided_role", "reason", "role", "state"}
// state is pending | approved | rejected; decided_* are empty until decided.
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
  IdempotencyKey ref;              // the refund's op:S:N
  CardId card;
  std::int64_t amount_minor = 0;
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

// A refund that must wait: amount over `limit_minor` (0: none must).
constexpr bool needs_approval(const AdminCommand& command, std::int64_t limit_minor) noexcept {
  return command.action == AdminAction::refund && limit_minor > 0 && command.amount_minor > limit_minor;
}

// The key of the write that records refund `ref` as waiting (apv:S:N).
IdempotencyKey approval_request_key(const IdempotencyKey& ref);

// The waiting request a refund command makes.
Approval approval_of(const AdminCommand& refund);
// The refund an approval carries out, as the clerk who asked for it.
AdminCommand refund_of(const Approval& approval);

// For the admin API and the CLI: {"ref", "card", "amount_minor",
// "asked_at_us", "clerk", "role", "reason", "state", "decided_by",
// "decided_role", "decided_reason", "decided_at_us"}.
nlohmann::json approval_json(const Approval& approval);

std::string encode_approval(const Approval& approval);
// corruption when the body is not an approval of `ref`.
Result<Approval> decode_approval(const IdempotencyKey& ref, std::string_view body);
ledger::RecordWrite approval_record(const Approval& approval);

// The approval of refund `ref`, or nullopt when it never waited.
Result<std::optional<Approval>> load_approval(const ledger::Ledger& ledger, const IdempotencyKey& ref);
// Every approval in one snapshot, in reference order; only those waiting
// when `pending_only`.
Result<std::vector<Approval>> list_approvals(const ledger::Ledger& ledger, bool pending_only);

// The outcome stored with a rejection's group: a retry of the refund is
// told it was rejected, not that its reference was used for another request.
std::string rejected_outcome(std::string_view refund_fingerprint);
// The refund's fingerprint when `stored` is a rejection's outcome.
std::optional<std::string_view> rejected_fingerprint(std::string_view stored) noexcept;

}  // namespace citycard::engine
