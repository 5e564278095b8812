// What the simulated world saw of the engine: every tap a reader made and
// the decision it heard (if any), every card-office request and its answer.
// The invariants (invariants.h) hold the ledger against it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "admin_command.h"
#include "protocol/messages.h"

namespace citycard::sim {

using TapKey = std::pair<std::uint32_t, std::uint64_t>;  // reader, sequence

inline TapKey key_of(const TapId& id) { return {id.reader.value, id.sequence}; }

struct SeenTap {
  protocol::TapRecord record;
  // The first decision heard, replayed flag cleared: the one the ledger must
  // hold. Later ones (resends) must be the same.
  std::optional<protocol::DecisionRecord> heard;
  std::uint32_t answers = 0;     // decisions heard for it, replays included
  bool lost_at_reader = false;   // an offline tap whose journal record was damaged: never uploaded
};

struct SeenAction {
  engine::AdminCommand command;
  std::optional<engine::AdminResult> heard;  // the first answer
};

struct Observed {
  std::map<TapKey, SeenTap> taps;
  std::map<IdempotencyKey, SeenAction> actions;
  // Taps and actions heard since the invariants last looked (checked once
  // each when heard, all of them after a restart and at the end).
  std::vector<TapKey> newly_heard_taps;
  std::vector<IdempotencyKey> newly_heard_actions;
};

}  // namespace citycard::sim
