#include "committer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iterator>
#include <span>

#include "citycard/check.h"
#include "citycard/limits.h"
#include "tap_thread.h"

namespace citycard::engine {

using Clock = std::chrono::steady_clock;

Committer::Committer(ledger::Ledger& ledger, Metrics& metrics, Log& log, Outcomes outcomes, Durable durable,
                     Voided voided, Failed failed, Drive drive, RealtimeThreads* realtime)
    : ledger_(ledger),
      metrics_(metrics),
      log_(log),
      outcomes_(std::move(outcomes)),
      durable_(std::move(durable)),
      voided_(std::move(voided)),
      failed_(std::move(failed)),
      drive_(drive) {
  if (drive_ == Drive::steps) return;
  preparing_ = std::thread([this, realtime] {
    auto member = begin_tap_thread("cc-prepare", realtime, log_);
    prepare_loop();
  });
  committing_ = std::thread([this, realtime] {
    auto member = begin_tap_thread("cc-commit", realtime, log_);
    commit_loop();
  });
}

Committer::~Committer() { stop(); }

void Committer::hand(Job job) {
  job.handed = Clock::now();
  waiting_.fetch_add(1, std::memory_order_relaxed);
  inbox_.push_control(std::move(job));
}

void Committer::stop() {
  if (!preparing_.joinable()) return;
  Job job;
  job.stop = true;
  inbox_.push_control(std::move(job));
  preparing_.join();
  committing_.join();
}

void Committer::prepare_loop() {
  std::vector<Job> jobs;
  bool stopping = false;
  while (!stopping) {
    jobs.clear();
    inbox_.pop_all(jobs, Clock::now() + std::chrono::milliseconds(100));
    auto stop = std::find_if(jobs.begin(), jobs.end(), [](const Job& job) { return job.stop; });
    stopping = stop != jobs.end();
    if (stopping) jobs.erase(stop);  // one stop job, pushed last
    (void)prepare_jobs(jobs);  // a failure is told to `failed` and voided there
  }
  Prepared stop;
  stop.stop = true;
  prepared_.push_control(std::move(stop));
}

Result<bool> Committer::turn_prepare() {
  CITYCARD_CHECK(drive_ == Drive::steps);
  // ledger.prepare() would wait for a commit that only this thread can make.
  if (stepped_.size() >= ledger::Ledger::prepared_posts_max) return false;
  std::vector<Job> jobs;
  inbox_.pop_all(jobs, Clock::time_point{});
  if (jobs.empty()) return false;
  std::size_t groups = 0;
  for (const Job& job : jobs) groups += job.groups.size();
  // One chunk per turn at most (limits::batch_groups_max groups): room for it is checked above.
  CITYCARD_CHECK_LE(groups, limits::batch_groups_max);
  if (Status prepared = prepare_jobs(jobs); !prepared) return prepared;
  return true;
}

Status Committer::prepare_jobs(std::vector<Job>& jobs) {
  struct Span {
    std::size_t shard;
    std::size_t groups;
    Answer answer;
    Clock::time_point handed;
  };
  std::vector<ledger::PostingGroup> merged;
  std::vector<ledger::GroupOutcome> outcomes;
  std::vector<Span> spans;
  for (auto& job : jobs) {
    spans.push_back(Span{job.shard, job.groups.size(), std::move(job.answer), job.handed});
    for (auto& group : job.groups) merged.push_back(std::move(group));
  }
  // Chunks of at most batch_groups_max groups. A shard is told its
  // outcomes once the chunk holding its last group is prepared, and that
  // chunk, when committed, makes its batch durable: told in that order.
  std::size_t next_span = 0;
  std::size_t told = 0;  // outcomes handed out so far
  auto tell_ready = [&](Prepared& chunk) {
    chunk.prepared_at = Clock::now();
    while (next_span < spans.size() && told + spans[next_span].groups <= outcomes.size()) {
      Span& span = spans[next_span++];
      metrics_.observe_handover_to_prepared_seconds(std::chrono::duration<double>(chunk.prepared_at - span.handed).count());
      const auto first = outcomes.begin() + static_cast<std::ptrdiff_t>(told);
      const auto last = first + static_cast<std::ptrdiff_t>(span.groups);
      Completion completion{span.shard, std::move(span.answer), {}, span.handed};
      if (completion.answer) {
        completion.as_handed.reserve(span.groups);
        for (auto it = first; it != last; ++it) completion.as_handed.push_back(it->posted && !it->duplicate);
      }
      std::vector<ledger::GroupOutcome> mine(std::make_move_iterator(first), std::make_move_iterator(last));
      std::vector<ledger::PostingGroup> spent(std::make_move_iterator(merged.begin() + static_cast<std::ptrdiff_t>(told)),
                                              std::make_move_iterator(merged.begin() + static_cast<std::ptrdiff_t>(told + span.groups)));
      told += span.groups;
      waiting_.fetch_sub(1, std::memory_order_relaxed);
      outcomes_(span.shard, std::move(mine), std::move(spent));
      chunk.completes.push_back(std::move(completion));
    }
  };
  for (std::size_t first = 0; first < merged.size(); first += limits::batch_groups_max) {
    const std::size_t last = std::min(merged.size(), first + limits::batch_groups_max);
    // Usually one chunk: the merged groups themselves, nothing moved.
    const bool whole = first == 0 && last == merged.size();
    std::vector<ledger::PostingGroup> part;
    if (!whole) {
      part.assign(std::make_move_iterator(merged.begin() + static_cast<std::ptrdiff_t>(first)),
                  std::make_move_iterator(merged.begin() + static_cast<std::ptrdiff_t>(last)));
    }
    const std::vector<ledger::PostingGroup>& chunk = whole ? merged : part;
    auto prepared = ledger_.prepare(chunk);  // waits while prepared_posts_max are uncommitted
    if (!whole) std::move(part.begin(), part.end(), merged.begin() + static_cast<std::ptrdiff_t>(first));
    if (!prepared) {
      if (prepared.status().code() == StatusCode::corruption && drive_ == Drive::threads) {
        // Fail-stop: nothing of this batch was written or answered, and no
        // wait for disk space would make the entry readable.
        log_.event("ledger_write_failed", {{"stage", "prepare"}, {"error", prepared.status().to_string()},
                                           {"groups", std::to_string(chunk.size())}});
        std::abort();
      }
      failed_("prepare", prepared.status(), chunk.size());
      // Every batch not yet told its outcomes is void; behind the writes
      // already prepared this turn, so each shard hears in order.
      Prepared item;
      item.voided = true;
      for (; next_span < spans.size(); ++next_span) {
        waiting_.fetch_sub(1, std::memory_order_relaxed);
        item.completes.push_back(Completion{spans[next_span].shard, {}, {}, spans[next_span].handed});
      }
      pass_on(std::move(item));
      return prepared.status();
    }
    for (const auto& outcome : (*prepared)->outcomes) outcomes.push_back(outcome);
    Prepared item;
    item.post = std::move(*prepared);
    item.groups = chunk.size();
    tell_ready(item);
    pass_on(std::move(item));
  }
  if (next_span < spans.size()) {  // empty batches only: told in order all the same
    Prepared item;
    tell_ready(item);
    pass_on(std::move(item));
  }
  return Status::ok();
}

void Committer::pass_on(Prepared item) {
  if (drive_ == Drive::steps) stepped_.push_back(std::move(item));
  else prepared_.push_control(std::move(item));
}

void Committer::commit_loop() {
  std::vector<Prepared> waiting;
  for (;;) {
    waiting.clear();
    prepared_.pop_all(waiting, Clock::now() + std::chrono::milliseconds(100));
    auto stop = std::find_if(waiting.begin(), waiting.end(), [](const Prepared& item) { return item.stop; });
    const bool stopping = stop != waiting.end();
    waiting.erase(stop, waiting.end());  // the stop item is pushed last
    (void)commit_waiting(waiting);  // a failure is told to `failed` and voided there
    if (stopping) return;
  }
}

Result<bool> Committer::turn_commit() {
  CITYCARD_CHECK(drive_ == Drive::steps);
  if (stepped_.empty()) return false;
  std::vector<Prepared> waiting(std::make_move_iterator(stepped_.begin()), std::make_move_iterator(stepped_.end()));
  stepped_.clear();
  if (Status committed = commit_waiting(waiting); !committed) return committed;
  return true;
}

Status Committer::commit_waiting(std::vector<Prepared>& waiting) {
  Status result = Status::ok();
  for (std::size_t first = 0; first < waiting.size();) {
    Prepared& item = waiting[first];
    if (!item.post) {  // a voided prepare, or empty batches: nothing to write
      if (item.voided) void_all(item.completes);
      else complete(item.completes);
      ++first;
      continue;
    }
    std::size_t last = first + 1;
    while (last < waiting.size() && waiting[last].post) ++last;
    Status committed = commit_run(std::span<Prepared>(waiting).subspan(first, last - first));
    if (!committed && result) result = committed;
    first = last;
  }
  return result;
}

Status Committer::commit_run(std::span<Prepared> run) {
  const auto started = Clock::now();
  std::vector<ledger::PreparedPost*> posts;
  posts.reserve(run.size());
  std::size_t groups = 0;
  for (Prepared& prepared : run) {
    metrics_.observe_commit_queue_seconds(std::chrono::duration<double>(started - prepared.prepared_at).count());
    posts.push_back(prepared.post.get());
    groups += prepared.groups;
  }
  if (Status committed = ledger_.commit(posts); !committed) {
    // Nothing of these writes (or a later one) was answered; the ledger
    // refuses writes until recovered, so every later one fails here too.
    failed_("commit", committed, groups);
    for (const Prepared& prepared : run) void_all(prepared.completes);
    return committed;
  }
  metrics_.observe_commit(groups, run.size(), std::chrono::duration<double>(Clock::now() - started).count());
  for (Prepared& prepared : run) complete(prepared.completes);
  return Status::ok();
}

void Committer::void_all(const std::vector<Completion>& completes) {
  for (const Completion& completion : completes) voided_(completion.shard);
}

void Committer::complete(std::vector<Completion>& completes) {
  // Answers first: a reader's decision should not wait for its shard to be
  // scheduled on a busy machine. Each hand-over is observed before its
  // answer, so whoever holds a decision also sees its batch in the metrics.
  const auto now = Clock::now();
  for (Completion& completion : completes) {
    metrics_.observe_handover_to_durable_seconds(std::chrono::duration<double>(now - completion.handed).count());
    if (completion.answer) completion.answer(completion.as_handed);
  }
  for (const Completion& completion : completes) durable_(completion.shard);
}

}  // namespace citycard::engine
