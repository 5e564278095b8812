// What the tap server hands its work to, and where it gets the deny list.
// The engine implements these with shards, rating and the ledger's group
// commit; the server knows nothing of that.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "citycard/ids.h"
#include "protocol/messages.h"

namespace citycard::net {

struct SubmitResult {
  enum class Kind : std::uint8_t {
    decided,  // decisions holds one decision per submitted tap, in the same order
    busy,     // nothing of the batch was taken; the reader is told to retry later
    // The ledger cannot write: nothing of the batch was answered (taps of it
    // durable before stay so and are replayed on resend); retry later.
    storage_unavailable,
  };
  Kind kind = Kind::decided;
  std::vector<protocol::DecisionRecord> decisions;
  std::uint32_t retry_after_ms = 0;  // for busy: a hint for the reader; 0 = the server's default

  static SubmitResult decided_with(std::vector<protocol::DecisionRecord> decisions) {
    return SubmitResult{Kind::decided, std::move(decisions), 0};
  }
  static SubmitResult busy(std::uint32_t retry_after_ms = 0) { return SubmitResult{Kind::busy, {}, retry_after_ms}; }
  static SubmitResult storage_unavailable(std::uint32_t retry_after_ms = 0) {
    return SubmitResult{Kind::storage_unavailable, {}, retry_after_ms};
  }
};

// Takes tap batches from authenticated readers and decides them.
//
// Contract:
// - submit() is called on the server's event-loop thread and must not block:
//   queue the taps and return. It is called for every batch that passed the
//   server's checks: every tap's reader id equals `reader`, which comes from
//   the reader's verified certificate; 1..limits::batch_taps_max taps.
// - done is called exactly once, from any thread (a shard's, the ledger's
//   commit thread), possibly before submit() returns. The server posts the
//   result back onto its loop; done never blocks and never throws.
// - A decided result is sent only after its taps are durable: call done
//   after the group commit, not before.
// - Idempotency: a tap id (reader, sequence) submitted again -- on the same or a
//   new connection, before or after a restart -- must get its original
//   decision back (flag DecisionFlags::replayed) and move no money twice.
// - busy means nothing was taken (queues full); the reader resends later.
// - storage_unavailable: the sink cannot make taps durable now; no decision
//   of the batch is sent (those durable already are replayed on resend).
// - The server may disconnect before done is called; done must still be
//   called (its result is then dropped) and the sink must not assume anyone
//   listened: the decision is kept for the resend.
class TapSink {
 public:
  virtual ~TapSink() = default;
  virtual void submit(ReaderId reader, std::vector<protocol::TapRecord> taps,
                      std::function<void(SubmitResult)> done) = 0;
  // The highest tap sequence the sink holds for `reader` (0: none or not
  // known), sent in hello_ack so a reader that lost its sequence numbers
  // never reuses one. Called on the loop thread; must be quick.
  virtual std::uint64_t last_sequence(ReaderId /*reader*/) const { return 0; }
};

// The deny list (blocked, lost, replaced and indebted cards) as versions.
// Version 0 means "no list"; every change makes a new, higher version.
//
// Contract: both calls are made on the server's loop thread and must be
// quick (in memory) and thread-safe against the writer of the list.
// answer(request) returns at most cards_max cards (docs/protocol.md, "Deny
// list"):
// - a request without a snapshot to continue, from version V: the net
//   changes from V to the newest version that fits (flag_more if more
//   remain: the reader asks again from to_version); V equal to the current
//   version yields an empty delta with from == to. If V is 0, unknown or
//   older than the history kept: the first page of a full snapshot at the
//   current version (flag_full, from_version 0, ascending card order,
//   flag_more if more pages follow).
// - a request continuing snapshot S after card X: the next page of S (the
//   cards of S after X, ascending; flag_page, from_version 0, to_version S,
//   flag_more if more follow), however the list changed meanwhile; if S can
//   no longer be rebuilt, the answer to the request's from_version alone.
class DenyListSource {
 public:
  virtual ~DenyListSource() = default;
  virtual std::uint64_t current_version() const = 0;
  virtual protocol::DenyListDelta answer(const protocol::DenyListRequest& request, std::size_t cards_max) const = 0;
};

}  // namespace citycard::net
