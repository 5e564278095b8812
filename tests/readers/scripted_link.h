// Test double for the agent's queue logic until the TLS uplink exists: an
// in-process EngineLink that fails a given number of calls, then decides
// every tap (approved, fare 15), and records what it was sent.
#pragma once

#include <vector>

#include "engine_link.h"

namespace citycard::test {

class ScriptedEngineLink final : public agent::EngineLink {
 public:
  int failures_left = 0;                 // calls answered with `failure` first
  Status failure = Status::unavailable("no coverage");
  std::vector<std::vector<std::uint64_t>> batches;   // sequences of every successful submit
  std::vector<agent::QueuedTap> sent;                // every tap submitted, answered or not
  agent::DenyListDelta deny_delta;
  std::vector<agent::DenyListPosition> deny_positions;  // every position fetched from
  std::uint64_t last_sequence = 0;       // what the engine's hello_ack says it holds
  std::uint64_t engine_last_sequence() const override { return last_sequence; }

  Result<std::vector<agent::TapDecision>> submit_taps(std::span<const agent::QueuedTap> taps,
                                                      agent::Deadline) override {
    sent.insert(sent.end(), taps.begin(), taps.end());
    if (failures_left > 0) {
      --failures_left;
      return failure;
    }
    std::vector<agent::TapDecision> decisions;
    std::vector<std::uint64_t> batch;
    for (const auto& queued : taps) {
      batch.push_back(queued.tap.id.sequence);
      agent::TapDecision decision;
      decision.tap = queued.tap.id;
      decision.verdict = agent::Verdict::approved;
      decision.fare_minor = 15;
      decision.balance_minor = 285;
      decisions.push_back(decision);
    }
    batches.push_back(batch);
    return decisions;
  }
  Result<agent::DenyListDelta> fetch_deny_list(const agent::DenyListPosition& from, agent::Deadline) override {
    deny_positions.push_back(from);
    if (failures_left > 0) {
      --failures_left;
      return failure;
    }
    return deny_delta;
  }
};

}  // namespace citycard::test
