// EngineLink: how the reader agent talks to the engine. UplinkEngineLink
// (uplink_link.h: TLS, docs/protocol.md) implements it; OfflineLink is the
// device's genuine offline mode (--offline): it never reaches an engine.
//
// Contract for implementations:
// - submit_taps() sends taps (1..limits::batch_taps_max, oldest first) and
//   returns one TapDecision per tap the engine decided, identified by TapId.
//   The engine deduplicates by TapId, so sending a tap again (after a lost
//   answer) is safe and yields the first decision again.
// - Errors: unavailable or busy = try again later (no link, timeout, engine
//   overloaded); the caller backs off and resends. Any other code = this
//   batch cannot be accepted as sent (e.g. invalid_argument for a tap the
//   engine cannot parse); the caller keeps the taps and backs off to the max.
// - Every call returns by its deadline.
// - Called from the agent's loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "citycard/money.h"
#include "citycard/status.h"
#include "citycard/tap.h"
#include "deny_list.h"
#include "queued_tap.h"

namespace citycard::agent {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

enum class Verdict : std::uint8_t { approved = 1, refused = 2 };

// The engine's answer for one tap.
struct TapDecision {
  TapId tap;
  Verdict verdict = Verdict::refused;
  RefusalReason reason = RefusalReason::none;   // none when approved
  Asset asset = Asset::twd;                     // of fare and balance
  std::int64_t fare_minor = 0;                  // what the rider paid for this tap
  std::optional<std::int64_t> balance_minor;    // the card's balance afterwards, if the engine says
  std::optional<std::int64_t> points_after;     // the card's points afterwards, if the engine says
  bool replayed = false;      // the original decision of an earlier submission of this tap
  bool debt = false;          // an offline ride given; the wallet went negative
  bool deny_listed = false;   // the engine has put the card on the deny list
  bool late = false;          // booked into the next open business day
};

class EngineLink {
 public:
  virtual ~EngineLink() = default;
  virtual Result<std::vector<TapDecision>> submit_taps(std::span<const QueuedTap> taps, Deadline deadline) = 0;
  // The next part of the deny list from `from` (DenyList::position()): the
  // changes since from.version, or the whole list (replaces_all) if the
  // engine no longer has that version's history -- in pages when it is
  // larger than one frame; with a snapshot in progress, its next page. With
  // more set, ask again from the new position for the rest.
  virtual Result<DenyListDelta> fetch_deny_list(const DenyListPosition& from, Deadline deadline) = 0;
  // false when no engine can be reached at all (OfflineLink): the agent then
  // has the card sign its taps as offline at once instead of after a timeout.
  virtual bool reachable() const { return true; }
  // The highest sequence the engine holds for this reader, from the current
  // connection's hello_ack; 0 when not connected or it holds none.
  virtual std::uint64_t engine_last_sequence() const { return 0; }
};

// True for the errors after which the same request may succeed later.
inline bool is_retryable(const Status& status) {
  return status.code() == StatusCode::unavailable || status.code() == StatusCode::busy;
}

// The reader without an engine: every call is "unavailable", so taps are
// decided offline and queued until a real link is configured.
class OfflineLink final : public EngineLink {
 public:
  Result<std::vector<TapDecision>> submit_taps(std::span<const QueuedTap>, Deadline) override {
    return Status::unavailable("reader runs offline: no engine link");
  }
  Result<DenyListDelta> fetch_deny_list(const DenyListPosition&, Deadline) override {
    return Status::unavailable("reader runs offline: no engine link");
  }
  bool reachable() const override { return false; }
};

}  // namespace citycard::agent
