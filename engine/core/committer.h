// The committer: two threads that turn what the shards rated into durable
// ledger writes (group commit), pipelined.
//
// Each shard hands over at most one batch at a time (hand()). The preparing
// thread takes every batch waiting, merges their groups and has the ledger
// prepare them (ledger::Ledger::prepare: validated, outcomes decided, the
// write built; split only past limits::batch_groups_max groups), gives each
// shard its outcomes at once (`outcomes`: the shard may hand over its next
// batch), and passes the prepared write to the committing thread, which makes
// it durable (ledger commit: one synced WriteBatch), runs each job's
// `answer` and then tells each shard (`durable`), in the order the batches
// were handed over. So the next batch is validated while this one syncs.
// The prepared writes that queued up behind a slow sync (up to
// Ledger::prepared_posts_max) are committed together, in one synced write:
// a slow sync delays them by one more sync, not by one each.
//
// A write that fails (prepare or commit: a full disk, a failed sync) is
// reported once per batch to `failed`, and every batch it voids -- its own
// and, as the ledger refuses writes until recovered, every later one -- is
// told `voided` instead of `durable`, in the same order: no decision of them
// was sent, and the shards answer them retry_later. A batch whose prepare
// failed is told voided without outcomes. A prepare that finds the ledger
// corrupt (a damaged entry) stays fatal: logged ledger_write_failed, then
// std::abort(); a restart reads the ledger whole.
//
// Thread-safe: hand() from any shard thread; outcomes, durable and voided
// are called on the committer's threads, outcomes(shard, k) before
// durable(shard) or voided(shard) for k, those in hand-over order.
//
// With Drive::steps there are no threads: the caller runs each stage with
// turn_prepare() and turn_commit() on its one thread; a failed write is
// voided and reported as above, and also returned to the caller (the
// simulator treats it as the crash, a corrupt entry included).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "citycard/realtime.h"
#include "drive.h"
#include "inbox.h"
#include "ledger/ledger.h"
#include "log.h"
#include "metrics.h"

namespace citycard::engine {

class Committer {
 public:
  // Runs on the committing thread as soon as a job's groups are durable,
  // before the shard is told: `as_handed[i]` is whether group i posted as the
  // shard built it (posted, not a duplicate), so its decision stands and can
  // go out without a trip through the shard's queue.
  using Answer = std::function<void(const std::vector<bool>& as_handed)>;
  struct Job {
    std::size_t shard = 0;
    std::vector<ledger::PostingGroup> groups;
    Answer answer;      // optional
    bool stop = false;  // internal: ends the threads
    std::chrono::steady_clock::time_point handed{};  // set by hand(): for the handover-to-durable histogram
  };
  // `spent`: the job's groups, prepared and of no more use here. Handed
  // back so that what the shard allocated for them is freed on its thread:
  // freed here, it went through the allocator's shared lists every batch.
  using Outcomes = std::function<void(std::size_t shard, std::vector<ledger::GroupOutcome> outcomes,
                                      std::vector<ledger::PostingGroup> spent)>;
  using Durable = std::function<void(std::size_t shard)>;
  using Voided = std::function<void(std::size_t shard)>;
  using Failed = std::function<void(std::string_view stage, const Status& error, std::size_t groups)>;

  // realtime: the set its two threads join (the engine's, at
  // EngineOptions::realtime_priority, which Engine::start checked); none:
  // the ordinary scheduler. It must outlive the committer.
  Committer(ledger::Ledger& ledger, Metrics& metrics, Log& log, Outcomes outcomes, Durable durable, Voided voided,
            Failed failed, Drive drive = Drive::threads, RealtimeThreads* realtime = nullptr);
  ~Committer();  // stop()

  // Drive::steps only. Prepares every job handed over (the preparing
  // thread's turn): true if it prepared any, false when none waits or a
  // prepared write must be committed first (turn_commit). An error is the
  // ledger's: nothing of it was answered, its batches are voided.
  Result<bool> turn_prepare();
  // Commits every prepared write waiting, in one synced write, and answers
  // their jobs (the committing thread's turn): true if it committed any,
  // false when none waits. An error: the write failed, as turn_prepare.
  Result<bool> turn_commit();
  // Prepared writes waiting for turn_commit (Drive::steps).
  std::size_t prepared_waiting() const noexcept { return stepped_.size(); }

  void hand(Job job);
  // Waits for the jobs handed over so far to be durable and told, then ends
  // the threads. Call after every shard has stopped handing over.
  void stop();
  std::size_t depth() const noexcept { return waiting_.load(std::memory_order_relaxed); }

 private:
  // A job whose last group is in a prepared write.
  struct Completion {
    std::size_t shard = 0;
    Answer answer;
    std::vector<bool> as_handed;
    std::chrono::steady_clock::time_point handed{};
  };
  // A prepared write and the shards' batches it completes.
  struct Prepared {
    std::unique_ptr<ledger::PreparedPost> post;
    std::size_t groups = 0;
    std::vector<Completion> completes;
    bool voided = false;  // its prepare failed: nothing to commit, every completion voided
    bool stop = false;
    std::chrono::steady_clock::time_point prepared_at{};  // for the commit-queue histogram
  };
  void complete(std::vector<Completion>& completes);
  void void_all(const std::vector<Completion>& completes);
  void prepare_loop();
  void commit_loop();
  // One turn of each stage, shared by the threads and the steps.
  Status prepare_jobs(std::vector<Job>& jobs);
  // Commits what waits, in order: each run of prepared writes as one synced
  // ledger write (several wait only behind a slow sync), then answers them.
  Status commit_waiting(std::vector<Prepared>& waiting);
  Status commit_run(std::span<Prepared> run);
  void pass_on(Prepared item);  // to the committing stage

  ledger::Ledger& ledger_;
  Metrics& metrics_;
  Log& log_;
  Outcomes outcomes_;
  Durable durable_;
  Voided voided_;
  Failed failed_;
  Inbox<Job> inbox_{0};            // control pushes only: one job per shard at most
  Inbox<Prepared> prepared_{0};    // at most Ledger::prepared_posts_max (prepare() waits)
  std::atomic<std::size_t> waiting_{0};
  const Drive drive_;
  std::deque<Prepared> stepped_;   // Drive::steps: prepared, waiting for turn_commit
  std::thread preparing_;
  std::thread committing_;
};

}  // namespace citycard::engine
