// Refused card-office requests in the audit trail. A request a signed-in
// clerk makes that the engine refuses -- by the role table, or by a rule (a
// refund over the wallet, an unknown card, a bad adjustment, a reference
// used for another request) -- writes one audit entry with outcome
// "refused" and the error as its detail, naming the clerk, role, action,
// card and amount. Nothing else is written: no money, no card change. The
// group builder makes the write (GroupBuilder::card_action), so the
// engine's shards and the CLI on a stopped ledger record the same entry.
//
// Write (one posting group, no transfers, one audit record), key rfs:S:N:
// the refused request's own op:S:N under Origin::refusal, so
//  - the request's reference stays free: a refused request did not use it;
//  - the same request refused again under its reference is a duplicate of
//    the first refusal: retries add nothing, and each request adds at most
//    one entry (one sent without a reference gets a fresh one from the API
//    or the CLI, so a flood of those adds one entry per request, batched
//    into the shards' group commits like any action).
// Not recorded: a request nobody signed in for (no one to name), and a
// failure that is no decision (I/O error, corruption, busy).
#pragma once

#include "citycard/ids.h"
#include "citycard/status.h"
#include "ledger/ledger.h"

namespace citycard::engine {

// A decision to say no (refused, invalid_argument, not_found,
// already_exists), as opposed to a failure to decide.
inline bool is_refusal(const Status& status) noexcept {
  switch (status.code()) {
    case StatusCode::refused:
    case StatusCode::invalid_argument:
    case StatusCode::not_found:
    case StatusCode::already_exists: return true;
    default: return false;
  }
}

// rfs:S:N for the request op:S:N.
constexpr IdempotencyKey refusal_key(const IdempotencyKey& request) noexcept {
  return IdempotencyKey{Origin::refusal, request.source, request.sequence};
}

// The group records a refusal (and nothing else): post it, then answer the
// refusal. Otherwise a refused action's group is empty: nothing to post.
inline bool records_refusal(const ledger::PostingGroup& group) noexcept { return group.key.origin == Origin::refusal; }

}  // namespace citycard::engine
