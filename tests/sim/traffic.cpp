#include "traffic.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace citycard::sim {
namespace {

constexpr std::int64_t minute_us = 60'000'000;
// Metro stations the city's distance table prices.
constexpr std::uint32_t metro_stations[] = {1001, 1002, 1003};

}  // namespace

Traffic::Traffic(CityPlan plan, std::string journal_dir, loadgen::Random& random, Observed& observed, Trace& trace,
                 const std::int64_t& clock_us)
    : plan_(std::move(plan)),
      journal_dir_(std::move(journal_dir)),
      random_(random),
      observed_(observed),
      trace_(trace),
      clock_us_(clock_us) {
  for (const SimReader& sim : plan_.readers) {
    Reader reader;
    reader.sim = sim;
    reader.journal_path = journal_dir_ + "/reader-" + std::to_string(sim.id.value) + ".journal";
    readers_.push_back(std::move(reader));
  }
}

Status Traffic::open_journal(Reader& reader) {
  auto opened = agent::Journal::open(reader.journal_path);
  if (!opened) return opened.status();
  reader.journal = std::make_unique<agent::Journal>(std::move(*opened));
  return Status::ok();
}

Status Traffic::open() {
  std::error_code error;
  std::filesystem::create_directories(journal_dir_, error);
  for (Reader& reader : readers_) {
    if (!reader.sim.offline) continue;
    if (Status opened = open_journal(reader); !opened) return opened;
  }
  return Status::ok();
}

std::size_t Traffic::unanswered() const {
  std::size_t count = unanswered_actions_.size();
  for (const Reader& reader : readers_) count += reader.unanswered.size();
  return count;
}

bool Traffic::replace_unanswered() const {
  for (const IdempotencyKey& key : unanswered_actions_) {
    if (observed_.actions.at(key).command.action == engine::AdminAction::replace) return true;
  }
  return false;
}

Traffic::Reader* Traffic::pick(bool offline) {
  std::vector<Reader*> candidates;
  for (Reader& reader : readers_) {
    if (reader.sim.offline == offline) candidates.push_back(&reader);
  }
  return candidates[random_.below(static_cast<std::uint32_t>(candidates.size()))];
}

protocol::TapRecord Traffic::make_tap(Reader& reader, bool offline) {
  protocol::TapRecord record;
  Tap& tap = record.tap;
  tap.id = TapId{reader.sim.id, reader.next_sequence++};
  tap.card = plan_.cards[random_.below(static_cast<std::uint32_t>(plan_.cards.size()))];
  tap.event_time = EventTime{clock_us_ + reader.skew_us};
  tap.operator_id = reader.sim.operator_id;
  tap.route = 1;
  tap.offline = offline;
  switch (reader.sim.kind) {
    case ReaderKind::metro_gate:
      tap.mode = random_.chance(0.5) ? Mode::metro_in : Mode::metro_out;
      tap.location = metro_stations[random_.below(3)];
      break;
    case ReaderKind::identity_terminal:
      tap.mode = Mode::identify;
      break;
    case ReaderKind::shop_terminal:
      tap.mode = Mode::pay;
      tap.amount_minor = random_.between(10, 400);
      break;
    default:
      tap.mode = Mode::bus_board;
      break;
  }
  SeenTap seen;
  seen.record = record;
  observed_.taps[key_of(tap.id)] = seen;
  return record;
}

void Traffic::online_tap(engine::Engine& engine) {
  Reader& reader = *pick(false);
  protocol::TapRecord record = make_tap(reader, false);
  ++counts_.taps_online;
  reader.unanswered.push_back(key_of(record.tap.id));
  send(engine, static_cast<std::size_t>(&reader - readers_.data()), {record});
}

Status Traffic::offline_tap() {
  Reader& reader = *pick(true);
  protocol::TapRecord record = make_tap(reader, true);
  ++counts_.taps_offline;
  // No card key in the simulation: a proof with the card's record (what the
  // journal reads back) and no cryptogram (the engine checks none).
  agent::QueuedTap queued{record.tap, {}};
  queued.proof.record.card_id = record.tap.card;
  queued.proof.record.media = record.tap.media;
  return reader.journal->append(queued);
}

void Traffic::upload(engine::Engine& engine) {
  Reader& reader = *pick(true);
  const auto& pending = reader.journal->pending();
  if (pending.empty()) return;
  // A random part of the journal, in a random order: uploads arrive late,
  // partly, out of order, and again.
  std::vector<protocol::TapRecord> batch;
  for (const agent::QueuedTap& queued : pending) {
    if (random_.chance(0.6)) batch.push_back(protocol::TapRecord{queued.tap, {}});
  }
  for (std::size_t i = batch.size(); i > 1; --i) std::swap(batch[i - 1], batch[random_.below(static_cast<std::uint32_t>(i))]);
  if (batch.empty()) return;
  ++counts_.uploads;
  send(engine, static_cast<std::size_t>(&reader - readers_.data()), std::move(batch));
}

void Traffic::resend(engine::Engine& engine) {
  Reader& reader = *pick(false);
  if (reader.unanswered.empty()) return;
  std::vector<protocol::TapRecord> batch;
  for (const TapKey& key : reader.unanswered) {
    if (random_.chance(0.7)) batch.push_back(observed_.taps.at(key).record);
  }
  if (batch.empty()) return;
  counts_.resends += batch.size();
  send(engine, static_cast<std::size_t>(&reader - readers_.data()), std::move(batch));
}

void Traffic::send(engine::Engine& engine, std::size_t reader, std::vector<protocol::TapRecord> taps) {
  // Drawn now, so that whether this answer arrives is the seed's, not the pipeline's.
  const bool lost = random_.chance(0.08);
  const std::uint64_t epoch = epoch_;
  const ReaderId id = readers_[reader].sim.id;
  trace_.add("send");
  trace_.add(static_cast<std::int64_t>(id.value));
  for (const auto& tap : taps) trace_.add(static_cast<std::int64_t>(tap.tap.id.sequence));
  engine.submit(id, std::move(taps), [this, reader, lost, epoch](net::SubmitResult result) {
    if (epoch != epoch_) return;  // a dead process says nothing
    if (lost) {
      ++counts_.answers_lost;
      trace_.add("lost");
      return;
    }
    hear(reader, result);
  });
}

void Traffic::hear(std::size_t index, const net::SubmitResult& result) {
  Reader& reader = readers_[index];
  if (result.kind == net::SubmitResult::Kind::busy) {
    ++counts_.busy;
    trace_.add("busy");
    return;
  }
  if (result.kind == net::SubmitResult::Kind::storage_unavailable) {
    // A failed ledger write voided the batch: nothing of it may be answered
    // (the simulation kills the process at once, so this is seldom heard).
    trace_.add("retry_later");
    if (!result.decisions.empty() && !broken_) broken_ = "decided: a batch answered retry_later carries decisions";
    return;
  }
  std::vector<std::uint64_t> acknowledged;
  for (const protocol::DecisionRecord& decision : result.decisions) {
    const TapKey key = key_of(decision.tap);
    trace_.add("heard");
    trace_.add(static_cast<std::int64_t>(key.first));
    trace_.add(static_cast<std::int64_t>(key.second));
    trace_.add(static_cast<std::int64_t>(decision.outcome));
    trace_.add(static_cast<std::int64_t>(decision.reason));
    trace_.add(decision.fare_minor);
    trace_.add(decision.balance_after_minor);
    trace_.add(static_cast<std::int64_t>(decision.flags));
    auto seen = observed_.taps.find(key);
    if (seen == observed_.taps.end()) {
      broken_ = "decided: a decision for tap " + std::to_string(key.first) + ":" + std::to_string(key.second) +
                " that no reader sent";
      return;
    }
    protocol::DecisionRecord first = decision;
    first.flags &= static_cast<std::uint8_t>(~protocol::DecisionFlags::replayed);
    ++seen->second.answers;
    if (!seen->second.heard) {
      seen->second.heard = first;
      observed_.newly_heard_taps.push_back(key);
    } else if (*seen->second.heard != first && !broken_) {
      broken_ = "decided: tap " + std::to_string(key.first) + ":" + std::to_string(key.second) +
                " answered twice, differently (fare " + std::to_string(seen->second.heard->fare_minor) + ", then " +
                std::to_string(first.fare_minor) + "; outcome " + std::to_string(static_cast<int>(seen->second.heard->outcome)) +
                ", then " + std::to_string(static_cast<int>(first.outcome)) + ")";
    }
    std::erase(reader.unanswered, key);
    acknowledged.push_back(key.second);
  }
  if (reader.journal && !acknowledged.empty()) {
    if (Status acked = reader.journal->acknowledge(acknowledged); !acked && !broken_) {
      broken_ = "reader journal: " + acked.to_string();
    }
  }
}

void Traffic::office(engine::Engine& engine) {
  engine::AdminCommand command;
  command.key = IdempotencyKey{Origin::operator_action, 7, next_action_++};
  command.time = EventTime{clock_us_};
  command.operator_name = "sim-clerk";
  command.clerk_role = "supervisor";
  command.reason = "simulated";
  command.card = plan_.cards[random_.below(static_cast<std::uint32_t>(plan_.cards.size()))];
  switch (random_.below(6)) {
    case 0:
    case 1:
      command.action = engine::AdminAction::top_up;
      command.amount_minor = random_.between(50, 2000);
      break;
    case 2:
      command.action = engine::AdminAction::refund;
      command.amount_minor = random_.between(1, 500);
      break;
    case 3:
      command.action = engine::AdminAction::set_status;
      command.status = random_.chance(0.6) ? CardStatus::active : random_.chance(0.5) ? CardStatus::blocked : CardStatus::lost;
      break;
    default: {
      command.action = random_.chance(0.5) ? engine::AdminAction::replace : engine::AdminAction::top_up;
      command.amount_minor = random_.between(50, 500);
      if (command.action == engine::AdminAction::replace) {
        char hex[17];
        std::snprintf(hex, sizeof hex, "05%06X%08X", static_cast<unsigned>(random_.below(1u << 24)),
                      static_cast<unsigned>(++replacements_));
        command.new_card = *CardId::parse(hex);
        command.amount_minor = 0;
        plan_.cards.push_back(command.new_card);
      }
      break;
    }
  }
  SeenAction seen;
  seen.command = command;
  observed_.actions[command.key] = seen;
  unanswered_actions_.push_back(command.key);
  ++counts_.actions;
  ask(engine, command);
}

void Traffic::retry_office(engine::Engine& engine) {
  if (unanswered_actions_.empty()) return;
  const IdempotencyKey key = unanswered_actions_[random_.below(static_cast<std::uint32_t>(unanswered_actions_.size()))];
  ++counts_.action_retries;
  ask(engine, observed_.actions.at(key).command);
}

void Traffic::ask(engine::Engine& engine, const engine::AdminCommand& command) {
  const bool lost = random_.chance(0.08);
  const std::uint64_t epoch = epoch_;
  trace_.add("ask");
  trace_.add(command.key.to_string());
  engine.admin(command, [this, key = command.key, lost, epoch](engine::AdminResult result) {
    if (epoch != epoch_) return;
    if (lost) {
      ++counts_.answers_lost;
      trace_.add("lost");
      return;
    }
    hear_action(key, result);
  });
}

void Traffic::hear_action(const IdempotencyKey& key, const engine::AdminResult& result) {
  trace_.add("answer");
  trace_.add(key.to_string());
  trace_.add(result.status.to_string());
  trace_.add(result.wallet_minor);
  // A busy engine did nothing: the clerk asks again later.
  if (result.status.code() == StatusCode::busy) return;
  SeenAction& seen = observed_.actions.at(key);
  if (!seen.heard) {
    seen.heard = result;
    observed_.newly_heard_actions.push_back(key);
  }
  std::erase(unanswered_actions_, key);
}

void Traffic::clock_jump() {
  Reader& reader = readers_[random_.below(static_cast<std::uint32_t>(readers_.size()))];
  // Minutes either way (within the engine's skew or past it), or an hour ahead.
  const std::int64_t jumps[] = {-30 * minute_us, -3 * minute_us, 2 * minute_us, 10 * minute_us, 60 * minute_us, 0};
  reader.skew_us = jumps[random_.below(6)];
  ++counts_.clock_jumps;
  trace_.add("clock_jump");
  trace_.add(reader.skew_us);
}

// A record in the middle of a reader's journal is damaged (a bad sector, a
// bit flip): the journal is closed, one byte inside a record is flipped, and
// it is opened again. A damaged last record is taken for a torn write and
// cut off; one with records after it is skipped (the journal resynchronises
// on the next record that checks). Either way at most that record's tap is
// lost at the reader, and it was never decided unless the engine had it
// already; a damaged acknowledgement only sends its taps again.
Status Traffic::damage_journal() {
  Reader& reader = *pick(true);
  if (reader.journal->pending().size() < 2) return Status::ok();
  std::vector<TapKey> before;
  for (const auto& queued : reader.journal->pending()) before.push_back(key_of(queued.tap.id));
  const std::uint64_t bytes = reader.journal->file_bytes();
  reader.journal.reset();
  ++counts_.journals_damaged;
  {
    std::fstream file(reader.journal_path, std::ios::in | std::ios::out | std::ios::binary);
    const std::uint64_t at = 4 + random_.below(static_cast<std::uint32_t>(bytes - 4));  // past the magic
    file.seekg(static_cast<std::streamoff>(at));
    char byte = 0;
    file.read(&byte, 1);
    byte = static_cast<char>(byte ^ 0x5A);
    file.seekp(static_cast<std::streamoff>(at));
    file.write(&byte, 1);
    trace_.add("journal_damaged");
    trace_.add(static_cast<std::int64_t>(at));
  }
  // One flipped byte damages one record: the journal resynchronises past it
  // (or cuts it off as a torn tail) and keeps every other record.
  if (Status opened = open_journal(reader); !opened) {
    return Status::corruption("a journal with one flipped byte does not open: " + opened.to_string());
  }
  std::vector<TapKey> after;
  for (const auto& queued : reader.journal->pending()) after.push_back(key_of(queued.tap.id));
  std::size_t lost = 0;
  for (const TapKey& key : before) {
    if (std::find(after.begin(), after.end(), key) != after.end()) continue;
    observed_.taps.at(key).lost_at_reader = true;
    ++counts_.taps_lost_at_reader;
    ++lost;
  }
  if (lost > 1) {
    return Status::corruption("one flipped byte in a journal lost " + std::to_string(lost) + " taps, not at most one");
  }
  return Status::ok();
}

}  // namespace citycard::sim
