#include "simulation.h"

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "engine_process.h"
#include "invariants.h"
#include "rule_set_loader.h"
#include "settlement/settlement.h"

namespace citycard::sim {
namespace {

constexpr std::int64_t minute_us = 60'000'000;
constexpr std::int64_t hour_us = 60 * minute_us;
// 2026-03-02 22:00 in Taipei: the first business day closes five hours in.
constexpr std::int64_t start_us = 1772409600LL * 1'000'000 + 14 * hour_us;
// A run spans about this much simulated time, whatever its number of steps.
constexpr std::int64_t run_span_us = 32 * hour_us;
// The close runs this long after its day ended (late uploads go to the next day).
constexpr std::int64_t close_after_us = 15 * minute_us;

enum class Move : std::uint8_t {
  tap, offline_tap, upload, resend, office, office_retry, shard, prepare, commit, clock_jump, fault, crash, restart,
  damage_journal,
};

struct Weighted {
  Move move;
  std::uint32_t weight;
  const char* name;
};

// How often each move is chosen, out of the sum.
constexpr Weighted moves[] = {
    {Move::tap, 220, "tap"},           {Move::offline_tap, 70, "offline_tap"}, {Move::upload, 50, "upload"},
    {Move::resend, 50, "resend"},      {Move::office, 45, "office"},           {Move::office_retry, 15, "office_retry"},
    {Move::shard, 200, "shard"},       {Move::prepare, 120, "prepare"},        {Move::commit, 120, "commit"},
    {Move::clock_jump, 8, "clock_jump"}, {Move::fault, 25, "fault"},           {Move::crash, 10, "crash"},
    {Move::restart, 5, "restart"},     {Move::damage_journal, 5, "damage_journal"},
};

class Run {
 public:
  explicit Run(const SimOptions& options) : options_(options), random_(options.seed) {}
  ~Run() {
    process_.reset();
    if (log_ != nullptr) std::fclose(log_);
  }
  SimReport go();

 private:
  Status set_up();
  Status start_process();
  void step();
  const Weighted& choose();
  void fail(std::string what) {
    if (!report_.held) return;
    report_.held = false;
    report_.failure = std::move(what);
  }
  // The process dies (a kill, or the engine's abort after a failed write),
  // power may go with it, and the engine starts again from the ledger.
  void die(bool fail_stop);
  void clean_restart();
  // Commits every prepared write (before a write outside the pipeline).
  bool commit_prepared();
  void maybe_close();
  void check(bool everything);
  void finish();

  SimOptions options_;
  loadgen::Random random_;
  std::int64_t clock_us_ = start_us;
  std::int64_t step_us_ = 0;  // the clock moves up to twice this per step
  std::size_t shards_ = 1;     // the engine's shards: one or two, by the seed
  Trace trace_;
  Observed observed_;
  Invariants invariants_;
  std::shared_ptr<SimFileSystem> fs_;
  std::unique_ptr<rocksdb::Env> env_;
  std::shared_ptr<const rules::RuleBook> rules_;
  std::unique_ptr<Traffic> traffic_;
  std::unique_ptr<EngineProcess> process_;
  std::FILE* log_ = nullptr;
  std::string ledger_dir_;
  settlement::Options settlement_;
  settlement::BusinessDay next_close_;
  std::vector<settlement::BusinessDay> closed_;
  SimReport report_;
};

Status Run::set_up() {
  std::string pattern = options_.work_dir + "/citycard-sim-" + std::to_string(options_.seed) + "-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) return Status::io_error("cannot make a directory under " + options_.work_dir);
  report_.run_dir = buffer.data();
  ledger_dir_ = report_.run_dir + "/ledger";
  log_ = std::fopen((report_.run_dir + "/engine.log").c_str(), "a");
  if (log_ == nullptr) return Status::io_error("cannot write " + report_.run_dir + "/engine.log");

  auto rule_set = rules::load_rule_set(options_.rules_file);
  if (!rule_set) return rule_set.status();
  settlement_.out_dir = report_.run_dir + "/settlement";
  settlement_.key_dir = report_.run_dir + "/keys";
  auto plan = build_city(ledger_dir_, settlement_.key_dir, *rule_set, random_);
  if (!plan) return plan.status();
  rules_ = rules::RuleBook::single(std::move(*rule_set));
  shards_ = 1 + random_.below(2);
  next_close_ = settlement::business_day_of(EventTime{clock_us_}, settlement_.day);
  step_us_ = run_span_us / static_cast<std::int64_t>(std::max<std::uint64_t>(options_.steps, 1));

  // From here on RocksDB writes through the simulated disk; the city made
  // above was closed cleanly, so all of it counts as synced.
  fs_ = std::make_shared<SimFileSystem>();
  env_ = rocksdb::NewCompositeEnv(fs_);
  traffic_ = std::make_unique<Traffic>(std::move(*plan), report_.run_dir + "/journals", random_, observed_, trace_, clock_us_);
  if (Status opened = traffic_->open(); !opened) return opened;
  return start_process();
}

Status Run::start_process() {
  auto started = EngineProcess::start(ledger_dir_, *env_, rules_, [this] { return EventTime{clock_us_}; }, log_, shards_);
  if (!started) return started.status();
  process_ = std::move(started).value();
  return Status::ok();
}

const Weighted& Run::choose() {
  std::uint32_t total = 0;
  for (const Weighted& move : moves) total += move.weight;
  std::uint32_t pick = random_.below(total);
  for (const Weighted& move : moves) {
    if (pick < move.weight) return move;
    pick -= move.weight;
  }
  return moves[0];
}

void Run::die(bool fail_stop) {
  const bool power = random_.chance(fail_stop ? 0.3 : 0.5);
  const bool torn = power && random_.chance(0.5);
  trace_.add(fail_stop ? "fail_stop" : "crash");
  trace_.add(static_cast<std::int64_t>(power) * 2 + static_cast<std::int64_t>(torn));
  (fail_stop ? report_.faults.fail_stops : report_.faults.crashes) += 1;
  traffic_->new_epoch();  // nothing the dying process does is heard
  process_->kill(*fs_);
  process_.reset();
  if (power) {
    ++report_.faults.power_losses;
    if (torn) {
      fs_->lose_unsynced([this](std::uint64_t unsynced) {
        return static_cast<std::uint64_t>(random_.between(0, static_cast<std::int64_t>(std::min<std::uint64_t>(unsynced, 1u << 30))));
      });
    } else {
      fs_->lose_unsynced({});
    }
  }
  fs_->revive();
  if (Status started = start_process(); !started) return fail("recovery: the engine does not start again: " + started.to_string());
  check(true);
}

void Run::clean_restart() {
  trace_.add("restart");
  if (Status stopped = process_->stop(); !stopped) {
    // A failed write is the engine's fail-stop; anything else is a bug.
    if (stopped.code() == StatusCode::io_error) return die(true);
    return fail("drain: " + stopped.to_string());
  }
  ++report_.faults.clean_restarts;
  traffic_->new_epoch();
  process_.reset();
  Status started = start_process();
  if (!started && started.code() == StatusCode::io_error) {
    // A disk fault armed before the restart hit the start's own write: the
    // engine refuses to start, and is started again once the disk is well.
    trace_.add("start_failed");
    fs_->revive();
    started = start_process();
  }
  if (!started) return fail("recovery: the engine does not start again: " + started.to_string());
  check(true);
}

bool Run::commit_prepared() {
  for (;;) {
    auto committed = process_->engine().turn_commit();
    if (!committed) {
      die(true);
      return false;
    }
    clock_us_ += static_cast<std::int64_t>(fs_->take_delay_us());
    if (!*committed) return true;
  }
}

void Run::step() {
  const Weighted& move = choose();
  trace_.add(move.name);
  clock_us_ += random_.between(0, 2 * step_us_);
  if (options_.steps_out != nullptr) {
    std::fprintf(options_.steps_out, "step=%llu move=%s clock_us=%lld\n", static_cast<unsigned long long>(report_.steps),
                 move.name, static_cast<long long>(clock_us_));
  }
  engine::Engine& engine = process_->engine();
  switch (move.move) {
    case Move::tap: traffic_->online_tap(engine); break;
    case Move::offline_tap:
      if (Status queued = traffic_->offline_tap(); !queued) fail("reader journal: " + queued.to_string());
      break;
    case Move::upload: traffic_->upload(engine); break;
    case Move::resend: traffic_->resend(engine); break;
    case Move::office: traffic_->office(engine); break;
    case Move::office_retry: traffic_->retry_office(engine); break;
    case Move::shard:
      if (traffic_->replace_unanswered() && !commit_prepared()) break;
      engine.turn_shard(random_.below(static_cast<std::uint32_t>(engine.shard_count())), random_.chance(0.5));
      break;
    case Move::prepare:
      if (!engine.turn_prepare()) die(true);
      break;
    case Move::commit:
      if (!engine.turn_commit()) die(true);
      clock_us_ += static_cast<std::int64_t>(fs_->take_delay_us());
      break;
    case Move::clock_jump: traffic_->clock_jump(); break;
    case Move::fault:
      switch (random_.below(3)) {
        case 0: fs_->fail_next_wal_sync(); trace_.add("arm_sync"); break;
        case 1: fs_->fill_disk_at_next_wal_append(); trace_.add("arm_full"); break;
        default: fs_->slow_next_wal_sync(static_cast<std::uint64_t>(random_.between(200'000, 3'000'000))); trace_.add("arm_slow"); break;
      }
      break;
    case Move::crash: die(false); break;
    case Move::restart: clean_restart(); break;
    case Move::damage_journal:
      if (Status damaged = traffic_->damage_journal(); !damaged) fail("reader journal: " + damaged.to_string());
      break;
  }
  if (report_.held) maybe_close();
}

void Run::maybe_close() {
  const std::int64_t due = settlement::day_start(next_close_.next(), settlement_.day).unix_us + close_after_us;
  if (clock_us_ < due) return;
  // The close writes its records through the ledger, which first waits for
  // every prepared write: on one thread, they are committed first.
  if (!commit_prepared()) return;
  settlement::Settlement settlement(process_->ledger(), settlement_);
  auto closed = settlement.close(next_close_, EventTime{clock_us_});
  trace_.add("close");
  if (!closed) {
    trace_.add(closed.status().to_string());
    return;  // a full disk, a failed sync: the close runs again at a later step
  }
  auto reconciled = settlement.verify(next_close_);
  if (!reconciled) return fail("settlement: verify " + next_close_.to_string() + ": " + reconciled.status().to_string());
  if (!reconciled->ok()) return fail("settlement: " + next_close_.to_string() + ": " + reconciled->problems.front());
  trace_.add(static_cast<std::int64_t>(closed->total.lines));
  closed_.push_back(next_close_);
  next_close_ = next_close_.next();
  ++report_.days_closed;
}

void Run::check(bool everything) {
  if (!report_.held) return;
  if (traffic_->broken()) return fail(*traffic_->broken());
  if (auto broken = invariants_.check(process_->ledger(), observed_, everything)) fail(*broken);
}

// The end: drain (every tap queued answered), restart once more from what
// is on disk, check everything, and reconcile every day closed again.
void Run::finish() {
  clean_restart();
  if (!report_.held) return;
  settlement::Settlement settlement(process_->ledger(), settlement_);
  for (const settlement::BusinessDay& day : closed_) {
    auto reconciled = settlement.verify(day);
    if (!reconciled) return fail("settlement: verify " + day.to_string() + ": " + reconciled.status().to_string());
    if (!reconciled->ok()) return fail("settlement: " + day.to_string() + ": " + reconciled->problems.front());
  }
  for (const auto& [id, balance] : invariants_.balances()) {
    trace_.add(static_cast<std::int64_t>(id));
    trace_.add(balance);
  }
  for (const auto& [key, tap] : observed_.taps) report_.taps_decided += tap.heard ? 1 : 0;
}

SimReport Run::go() {
  report_.seed = options_.seed;
  trace_.echo(options_.steps_out);
  if (Status ready = set_up(); !ready) {
    fail("set-up: " + ready.to_string());
    return report_;
  }
  while (report_.held && report_.steps < options_.steps) {
    ++report_.steps;
    step();
    check(false);
  }
  if (report_.held) {
    ++report_.steps;  // the end is a step of its own
    finish();
  }
  if (!report_.held) report_.failed_step = report_.steps;
  report_.trace_hash = trace_.hash();
  report_.invariant_checks = invariants_.checks();
  report_.faults.disk = fs_ ? fs_->faults() : DiskFaults{};
  report_.traffic = traffic_ ? traffic_->counts() : TrafficCounts{};
  // A failed run leaves the ledger as the failure found it (a kill writes nothing more).
  if (process_ && !report_.held) process_->kill(*fs_);
  process_.reset();
  if (report_.held && !options_.keep_files) {
    std::error_code ignored;
    std::filesystem::remove_all(report_.run_dir, ignored);
  }
  return report_;
}

}  // namespace

SimReport simulate(const SimOptions& options) {
  Run run(options);
  return run.go();
}

std::string describe(const SimReport& report) {
  std::string text = "seed=" + std::to_string(report.seed);
  if (!report.held) {
    text += " step=" + std::to_string(report.failed_step) + " " + report.failure + " (files kept in " + report.run_dir + ")";
    return text;
  }
  const DiskFaults& disk = report.faults.disk;
  text += " held steps=" + std::to_string(report.steps) + " taps_decided=" + std::to_string(report.taps_decided) +
          " days_closed=" + std::to_string(report.days_closed) + " checks=" + std::to_string(report.invariant_checks) +
          " crashes=" + std::to_string(report.faults.crashes) + " fail_stops=" + std::to_string(report.faults.fail_stops) +
          " power_losses=" + std::to_string(report.faults.power_losses) + " torn=" + std::to_string(disk.torn_writes) +
          " sync_failed=" + std::to_string(disk.syncs_failed) + " disk_full=" + std::to_string(disk.disk_full) +
          " slow_syncs=" + std::to_string(disk.syncs_slow) + " trace=" + std::to_string(report.trace_hash);
  return text;
}

}  // namespace citycard::sim
