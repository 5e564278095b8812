// The world outside the engine: simulated readers and card-office clerks.
//
// Online readers send each tap at once and resend what they heard no answer
// for (an answer lost on the network, an engine that crashed or said busy).
// Offline readers admit riders themselves, append each tap to a real reader
// journal (readers/agent/journal.h) and upload later a random part of it in
// a random order; a decision heard acknowledges the tap in the journal. A
// reader's clock may jump (its event times are off by minutes or hours).
// Clerks top up, block, unblock, report lost, replace and refund, each under
// its own reference, and retry a request they heard no answer for with the
// same reference.
//
// What the engine answers is recorded in Observed, and folded into the run's
// trace hash (same seed, same hash).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "city.h"
#include "engine/core/engine.h"
#include "observed.h"
#include "readers/agent/journal.h"
#include "readers/loadgen/random.h"
#include "trace.h"

namespace citycard::sim {

struct TrafficCounts {
  std::uint64_t taps_online = 0;
  std::uint64_t taps_offline = 0;
  std::uint64_t uploads = 0;
  std::uint64_t resends = 0;
  std::uint64_t answers_lost = 0;
  std::uint64_t busy = 0;
  std::uint64_t clock_jumps = 0;
  std::uint64_t journals_damaged = 0;
  std::uint64_t taps_lost_at_reader = 0;
  std::uint64_t actions = 0;
  std::uint64_t action_retries = 0;
};

class Traffic {
 public:
  Traffic(CityPlan plan, std::string journal_dir, loadgen::Random& random, Observed& observed, Trace& trace,
          const std::int64_t& clock_us);
  // Opens the offline readers' journals.
  Status open();

  // Each move sends through `engine` what a reader or clerk would. Answers
  // arrive through the callbacks while the simulator turns the pipeline;
  // only answers of the process `epoch` are heard.
  void online_tap(engine::Engine& engine);
  Status offline_tap();
  void upload(engine::Engine& engine);
  void resend(engine::Engine& engine);
  void office(engine::Engine& engine);
  void retry_office(engine::Engine& engine);
  void clock_jump();
  Status damage_journal();

  // A new process: answers of the old one are no longer heard.
  void new_epoch() { ++epoch_; }
  // Something heard that can never be right (a resend answered unlike the
  // first answer): the invariant broken, in words.
  const std::optional<std::string>& broken() const { return broken_; }
  const TrafficCounts& counts() const { return counts_; }
  std::size_t unanswered() const;
  // A replace not answered yet: its shard issues the new card with a ledger
  // write of its own, which waits for every prepared write to be committed
  // -- on one thread, they must be committed before that shard turns.
  bool replace_unanswered() const;

 private:
  struct Reader {
    SimReader sim;
    std::uint64_t next_sequence = 1;
    std::int64_t skew_us = 0;                 // its clock's error
    std::vector<TapKey> unanswered;           // online taps sent, no decision heard
    std::unique_ptr<agent::Journal> journal;  // offline readers
    std::string journal_path;
  };
  protocol::TapRecord make_tap(Reader& reader, bool offline);
  void send(engine::Engine& engine, std::size_t reader, std::vector<protocol::TapRecord> taps);
  void hear(std::size_t reader, const net::SubmitResult& result);
  void ask(engine::Engine& engine, const engine::AdminCommand& command);
  void hear_action(const IdempotencyKey& key, const engine::AdminResult& result);
  Reader* pick(bool offline);
  Status open_journal(Reader& reader);

  CityPlan plan_;
  std::string journal_dir_;
  loadgen::Random& random_;
  Observed& observed_;
  Trace& trace_;
  const std::int64_t& clock_us_;
  std::vector<Reader> readers_;
  std::vector<IdempotencyKey> unanswered_actions_;
  std::uint64_t next_action_ = 1;
  std::uint64_t epoch_ = 0;
  std::uint64_t replacements_ = 0;
  std::optional<std::string> broken_;
  TrafficCounts counts_;
};

}  // namespace citycard::sim
