// The committer: one thread that turns what the shards rated into durable
// ledger writes (group commit).
//
// Each shard hands over at most one batch at a time (hand()); the committer
// takes every batch waiting, merges their groups into one ledger::post (one
// synced WriteBatch; split only past limits::batch_groups_max groups), and
// gives each shard its outcomes in group order through `deliver`. A failed
// write (the post's Status, not a group's rejection) is fatal: logged, then
// std::abort() -- no decision of that batch was sent, and the ledger holds
// either all of it or none, so a restart recovers.
//
// Thread-safe: hand() from any shard thread; deliver is called on the
// committer's thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <thread>
#include <vector>

#include "inbox.h"
#include "ledger/ledger.h"
#include "log.h"
#include "metrics.h"

namespace citycard::engine {

class Committer {
 public:
  struct Job {
    std::size_t shard = 0;
    std::vector<ledger::PostingGroup> groups;
    bool stop = false;  // internal: ends the thread
  };
  using Deliver = std::function<void(std::size_t shard, std::vector<ledger::GroupOutcome> outcomes)>;

  Committer(ledger::Ledger& ledger, Metrics& metrics, Log& log, Deliver deliver);
  ~Committer();  // stop()

  void hand(Job job);
  // Waits for the jobs handed over so far to be delivered, then ends the
  // thread. Call after every shard has stopped handing over.
  void stop();
  std::size_t depth() const noexcept { return waiting_.load(std::memory_order_relaxed); }

 private:
  void run();

  ledger::Ledger& ledger_;
  Metrics& metrics_;
  Log& log_;
  Deliver deliver_;
  Inbox<Job> inbox_{0};  // control pushes only: one job per shard at most
  std::atomic<std::size_t> waiting_{0};
  std::thread thread_;
};

}  // namespace citycard::engine
