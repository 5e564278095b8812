// One life of the engine process in the simulation: the ledger opened
// through the simulated disk (the production open: RocksDB recovery, the
// log replayed into the account table, the high-water marks raised) and the
// real engine started on it (deny list from the ledger's truth, cards
// preloaded, offline money reloaded), with Drive::steps so that the
// simulator turns every stage. It ends cleanly (stop: drained, the deny list
// saved, the ledger closed) or dies (nothing it tries afterwards reaches the
// disk).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <rocksdb/env.h>

#include "engine/core/engine.h"
#include "ledger/ledger.h"
#include "log.h"
#include "metrics.h"
#include "rule_book.h"
#include "sim_file_system.h"

namespace citycard::sim {

class EngineProcess {
 public:
  // Opens the ledger in `ledger_dir` with `env` (the simulated disk's) and
  // starts the engine with `shards` shards; the engine's log goes to `log`.
  static Result<std::unique_ptr<EngineProcess>> start(const std::string& ledger_dir, rocksdb::Env& env,
                                                       std::shared_ptr<const rules::RuleBook> rules,
                                                       std::function<EventTime()> clock, std::FILE* log,
                                                       std::size_t shards);
  ~EngineProcess();

  engine::Engine& engine() { return *engine_; }
  ledger::Ledger& ledger() { return *ledger_; }

  // Turns the pipeline until nothing is queued or in flight (every
  // submitted tap answered), then stops the engine and closes the ledger.
  // An error: a write failed on the way (the caller crashes the process).
  Status stop();
  // The process is killed: `fs` is made dead first, the committer's
  // prepared writes fail (the ledger voids them), and the engine and ledger
  // are torn down without a byte reaching the disk.
  void kill(SimFileSystem& fs);

 private:
  EngineProcess() = default;
  // Prepared writes left after a failed one: each fails too (the ledger voids them).
  void void_prepared();

  engine::Metrics metrics_;
  std::unique_ptr<engine::Log> log_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<engine::Engine> engine_;
};

}  // namespace citycard::sim
