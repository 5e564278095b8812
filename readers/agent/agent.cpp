#include "agent.h"

#include <fmt/format.h>

#include "file_io.h"

namespace citycard::agent {

Result<std::unique_ptr<Agent>> Agent::open(const AgentConfig& config, const card::MasterKey& master, EngineLink& link) {
  if (auto valid = config.validate(); !valid) return valid;
  if (auto made = ensure_directory(config.state_dir); !made) return made;
  JournalOptions journal_options;
  journal_options.taps_max = config.queue_taps_max;
  auto journal = Journal::open(config.state_dir + "/taps.journal", journal_options);
  if (!journal) return journal.status();
  // The journal's highest sequence is a floor in case the sequence file was lost.
  auto sequences = SequenceAllocator::open(config.state_dir + "/sequence", journal->highest_sequence() + 1,
                                           SequenceOptions{config.sequence_block});
  if (!sequences) return sequences.status();
  auto deny_list = DenyList::open(config.state_dir + "/deny.list");
  if (!deny_list) return deny_list.status();
  return std::unique_ptr<Agent>(new Agent(config, master, link, std::move(*sequences), std::move(*journal),
                                          std::move(*deny_list)));
}

Agent::Agent(const AgentConfig& config, const card::MasterKey& master, EngineLink& link, SequenceAllocator sequences,
             Journal journal, DenyList deny_list)
    : config_(config),
      master_(master),
      link_(link),
      sequences_(std::move(sequences)),
      journal_(std::move(journal)),
      deny_list_(std::move(deny_list)),
      uploader_(journal_, link_,
                UploadOptions{config.upload_batch_taps, config.upload_timeout, config.backoff_initial,
                              config.backoff_max, config.reader.value}) {}

TapOutcome Agent::handle_card(card::CardTransport& transport, EventTime now) {
  TapOutcome outcome;
  auto device_fault = [&](const Status& status) {
    outcome.result = TapResult::tap_again;
    outcome.detail = "reader fault, rider not admitted: " + status.to_string();
    outcome.queued = journal_.pending().size();
    return outcome;
  };

  // The sequence number is reserved first: the card's cryptogram covers it.
  auto sequence = sequences_.next();
  if (!sequence) return device_fault(sequence.status());
  outcome.tap = TapId{config_.reader, *sequence};
  auto challenge = card::make_challenge();
  if (!challenge) return device_fault(challenge.status());

  auto readout = card::run_reader_session(transport, master_, outcome.tap, *challenge);
  if (!readout) {
    const Status& error = readout.status();
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
  }

  QueuedTap queued;
  queued.proof = readout->proof;
  Tap& tap = queued.tap;
  tap.id = outcome.tap;
  tap.card = readout->proof.record.card_id;
  tap.media = readout->proof.record.media;
  tap.event_time = now;
  tap.mode = config_.mode;
  tap.operator_id = config_.operator_id;
  tap.route = config_.route;
  tap.location = config_.location;
  tap.amount_minor = config_.amount_minor;

  // A card that cannot prove itself never reaches the engine as a tap.
  if (readout->genuine.is_ok()) {
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
    // No answer in time: the reader decides. If the engine did record the
    // online attempt, the queued copy has the same TapId and is deduplicated.
  }

  TapOutcome offline = decide_offline(*readout, deny_list_);
  offline.tap = outcome.tap;
  if (offline.result == TapResult::approved) {
    tap.offline = true;
    if (auto stored = journal_.append(queued); !stored) return device_fault(stored);
  }
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
