#include "engine_process.h"

#include "city.h"
#include "ledger/rocks_ledger.h"

namespace citycard::sim {

Result<std::unique_ptr<EngineProcess>> EngineProcess::start(const std::string& ledger_dir, rocksdb::Env& env,
                                                             std::shared_ptr<const rules::RuleBook> rules,
                                                             std::function<EventTime()> clock, std::FILE* log,
                                                             std::size_t shards) {
  std::unique_ptr<EngineProcess> process(new EngineProcess());
  process->log_ = std::make_unique<engine::Log>(log);
  auto opened = ledger::open_with_env(ledger_dir, sim_ledger_options(), &env);
  if (!opened) return opened.status();
  process->ledger_ = std::move(opened).value();
  engine::EngineOptions options;
  options.drive = engine::Drive::steps;
  options.shards = shards;
  options.clock = std::move(clock);
  options.require_card_proof = false;  // proofs are tested on their own (proof_test.cpp); no token here
  options.batch_taps = 64;
  options.overlap_taps_min = 8;
  options.four_eyes_minor = 0;         // every refund at once: no second supervisor in the simulation
  auto started = engine::Engine::start(*process->ledger_, std::move(rules), std::move(options), process->metrics_,
                                       *process->log_);
  if (!started) return started.status();
  process->engine_ = std::move(started).value();
  return process;
}

EngineProcess::~EngineProcess() {
  engine_.reset();
  ledger_.reset();
}

void EngineProcess::void_prepared() {
  for (;;) {
    auto committed = engine_->turn_commit();
    if (committed && !*committed) return;
  }
}

Status EngineProcess::stop() {
  // Drain as the threaded engine's stop() does: every shard turns with its
  // window over until nothing is left anywhere.
  // (Committed first each round: a shard issuing a replacement card waits
  // for every prepared write.)
  for (int round = 0; !engine_->idle(); ++round) {
    if (round == 10'000) return Status::unavailable("the pipeline does not drain");
    for (;;) {
      auto committed = engine_->turn_commit();
      if (!committed) {
        void_prepared();
        return committed.status();
      }
      if (!*committed) break;
    }
    for (std::size_t shard = 0; shard < engine_->shard_count(); ++shard) engine_->turn_shard(shard, true);
    auto prepared = engine_->turn_prepare();
    if (!prepared) {
      void_prepared();
      return prepared.status();
    }
  }
  engine_->stop();
  engine_.reset();
  ledger_.reset();
  return Status::ok();
}

void EngineProcess::kill(SimFileSystem& fs) {
  fs.die();
  void_prepared();
  engine_.reset();
  ledger_.reset();
}

}  // namespace citycard::sim
