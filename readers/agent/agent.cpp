#include "agent.h"

#include <chrono>

#include <fmt/format.h>

#include "file_io.h"
#include "files/durable_file.h"

namespace citycard::agent {

Result<std::unique_ptr<Agent>> Agent::open(const AgentConfig& config, card::CardKeySource& keys, EngineLink& link) {
  if (auto valid = config.validate(); !valid) return valid;
  if (auto made = ensure_directory(config.state_dir); !made) return made;
  JournalOptions journal_options;
  journal_options.taps_max = config.queue_taps_max;
  auto journal = Journal::open(config.state_dir + "/taps.journal", journal_options);
  if (!journal) return journal.status();
  // The journal's lock makes this agent the state directory's only writer:
  // what a killed one left half-written can go.
  files::remove_stale_temporaries(config.state_dir + "/sequence");
  files::remove_stale_temporaries(config.state_dir + "/deny.list");
  // The journal's highest sequence is a floor in case the sequence file was lost.
  const auto clock_us = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  auto sequences = SequenceAllocator::open(config.state_dir + "/sequence", journal->highest_sequence() + 1,
                                           SequenceOptions{config.sequence_block},
                                           config.sequence_first != 0 ? config.sequence_first : clock_us);
  if (!sequences) return sequences.status();
  auto deny_list = DenyList::open(config.state_dir + "/deny.list");
  if (!deny_list) return deny_list.status();
  SpaceReserve reserve(config.state_dir + "/space.reserve", config.disk_reserve_bytes);
  // A disk already full starts the agent without its reserve (reserve_held()
  // says so); the loop puts it back once there is room.
  (void)reserve.restore();
  return std::unique_ptr<Agent>(new Agent(config, keys, link, std::move(*sequences), std::move(*journal),
                                          std::move(*deny_list), std::move(reserve)));
}

Agent::Agent(const AgentConfig& config, card::CardKeySource& keys, EngineLink& link, SequenceAllocator sequences,
             Journal journal, DenyList deny_list, SpaceReserve reserve)
    : config_(config),
      keys_(keys),
      link_(link),
      sequences_(std::move(sequences)),
      journal_(std::move(journal)),
      deny_list_(std::move(deny_list)),
      reserve_(std::move(reserve)),
      uploader_(journal_, link_,
                UploadOptions{config.upload_batch_taps, config.upload_timeout, config.backoff_initial,
                              config.backoff_max, config.reader.value}) {}

Status Agent::admitting_write(const std::function<Status()>& write, TapOutcome& outcome) {
  bool released = false;
  Status written = reserve_.write_with_reserve(write, released);
  if (released || is_out_of_space(written)) outcome.disk_full = true;
  return written;
}

TapOutcome Agent::handle_card(card::CardTransport& transport, EventTime now) {
  TapOutcome outcome;
  auto device_fault = [&](const Status& status) {
    outcome.result = TapResult::tap_again;
    // Admitted, a tap that cannot be recorded would be a ride nobody pays
    // for and no one can trace: the rider is not let through.
    outcome.detail = is_out_of_space(status) ? "reader disk full, tap not recorded, rider not admitted: " + status.to_string()
                                             : "reader fault, rider not admitted: " + status.to_string();
    outcome.queued = journal_.pending().size();
    return outcome;
  };

  // Numbers the engine already holds are never handed out again (a reader
  // whose state was restored from an old copy).
  if (const std::uint64_t held = link_.engine_last_sequence(); held >= sequences_.next_number()) {
    if (Status raised = admitting_write([&] { return sequences_.raise_floor(held + 1); }, outcome); !raised) {
      return device_fault(raised);
    }
  }
  // The sequence number is reserved first: the card's cryptogram covers it.
  std::uint64_t sequence = 0;
  Status numbered = admitting_write(
      [&]() -> Status {
        auto next = sequences_.next();
        if (!next) return next.status();
        sequence = *next;
        return Status::ok();
      },
      outcome);
  if (!numbered) return device_fault(numbered);
  outcome.tap = TapId{config_.reader, sequence};
  auto challenge = card::make_challenge();
  if (!challenge) return device_fault(challenge.status());

  // The transaction the card signs; card and media come from the card.
  Tap signed_tap;
  signed_tap.id = outcome.tap;
  signed_tap.event_time = now;
  signed_tap.mode = config_.mode;
  signed_tap.operator_id = config_.operator_id;
  signed_tap.route = config_.route;
  signed_tap.location = config_.location;
  signed_tap.amount_minor = config_.amount_minor;
  signed_tap.offline = !link_.reachable();

  auto readout = card::run_reader_session(transport, keys_, signed_tap, *challenge);
  auto card_error = [&](const Status& error) {
    outcome.queued = journal_.pending().size();
    if (error.code() == StatusCode::unavailable) {
      outcome.result = TapResult::tap_again;
      outcome.detail = "card left the field before the tap completed (" + error.message() + ")";
    } else {
      outcome.result = TapResult::refused;
      outcome.reason = RefusalReason::card_unknown;
      outcome.detail = error.message();
    }
    return outcome;
  };
  if (!readout) return card_error(readout.status());

  QueuedTap queued;
  queued.tap = readout->tap;
  queued.proof = readout->proof;
  const Tap& tap = queued.tap;

  // A card that cannot prove itself never reaches the engine as a tap.
  if (readout->genuine.is_ok() && !tap.offline) {
    auto decisions = link_.submit_taps(std::span<const QueuedTap>(&queued, 1), Clock::now() + config_.engine_timeout);
    if (decisions) {
      for (const auto& decision : *decisions) {
        if (decision.tap != tap.id) continue;
        outcome.card = tap.card;
        outcome.result = decision.verdict == Verdict::approved ? TapResult::approved : TapResult::refused;
        outcome.reason = decision.reason;
        outcome.asset = decision.asset;
        outcome.fare_minor = decision.fare_minor;
        outcome.balance_minor = decision.balance_minor;
        if (decision.verdict == Verdict::refused) outcome.detail = "refused by the engine";
        outcome.queued = journal_.pending().size();
        return outcome;
      }
    }
  }

  TapOutcome offline = decide_offline(*readout, deny_list_);
  offline.tap = outcome.tap;
  if (offline.result == TapResult::approved) {
    if (!queued.tap.offline) {
      // No answer in time, and the engine may still decide this tap online:
      // the card signs the same tap again, marked offline, so the engine can
      // tell the journaled copy from the online attempt.
      Tap offline_tap = queued.tap;
      offline_tap.offline = true;
      auto second_challenge = card::make_challenge();
      if (!second_challenge) return device_fault(second_challenge.status());
      auto again = card::authenticate_again(transport, keys_, *readout, offline_tap, *second_challenge);
      if (!again) {
        offline.result = TapResult::tap_again;
        offline.detail = "no answer from the engine and the card left before it signed the offline tap (" +
                         again.status().message() + ")";
        offline.queued = journal_.pending().size();
        return offline;
      }
      if (!again->genuine.is_ok()) {
        offline.result = TapResult::refused;
        offline.reason = RefusalReason::card_not_genuine;
        offline.detail = again->genuine.message();
        offline.queued = journal_.pending().size();
        return offline;
      }
      queued.tap = again->tap;
      queued.proof = again->proof;
    }
    if (auto stored = admitting_write([&] { return journal_.append(queued); }, offline); !stored) {
      offline.tap = outcome.tap;
      offline.offline = false;  // not queued
      outcome = offline;
      return device_fault(stored);
    }
  }
  offline.disk_full = offline.disk_full || outcome.disk_full;
  offline.queued = journal_.pending().size();
  return offline;
}

Status Agent::refresh_deny_list(Deadline deadline) {
  // A long backlog comes in several deltas, each applied (and persisted) on
  // its own, so a deadline that cuts the series keeps what arrived. A
  // snapshot's pages are held apart until the last: cut off, the reader
  // keeps its old list and the next refresh continues where this one ended.
  for (;;) {
    const DenyListPosition from = deny_list_.position();
    auto delta = link_.fetch_deny_list(from, deadline);
    if (!delta) return delta.status();
    if (auto applied = deny_list_.apply(*delta); !applied) return applied;
    // After a snapshot's last page the list is at the snapshot's version:
    // one more request brings what changed while the pages came.
    if (!delta->more && !delta->page) return Status::ok();
    if (deny_list_.position() == from) {
      return Status::corruption("engine says more deny list changes follow but its answer made no progress");
    }
  }
}

}  // namespace citycard::agent
