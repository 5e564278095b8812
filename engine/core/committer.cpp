#include "committer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iterator>

#include "citycard/limits.h"
#include "citycard/thread_name.h"

namespace citycard::engine {

using Clock = std::chrono::steady_clock;

Committer::Committer(ledger::Ledger& ledger, Metrics& metrics, Log& log, Outcomes outcomes, Durable durable)
    : ledger_(ledger),
      metrics_(metrics),
      log_(log),
      outcomes_(std::move(outcomes)),
      durable_(std::move(durable)),
      preparing_([this] {
        name_this_thread("cc-prepare");
        prepare_loop();
      }),
      committing_([this] {
        name_this_thread("cc-commit");
        commit_loop();
      }) {}

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
  std::vector<ledger::PostingGroup> merged;
  std::vector<ledger::GroupOutcome> outcomes;
  bool stopping = false;
  while (!stopping) {
    jobs.clear();
    inbox_.pop_all(jobs, Clock::now() + std::chrono::milliseconds(100));
    merged.clear();
    struct Span {
      std::size_t shard;
      std::size_t groups;
      Answer answer;
      Clock::time_point handed;
    };
    std::vector<Span> spans;
    for (auto& job : jobs) {
      if (job.stop) {
        stopping = true;
        continue;
      }
      spans.push_back(Span{job.shard, job.groups.size(), std::move(job.answer), job.handed});
      for (auto& group : job.groups) merged.push_back(std::move(group));
    }
    // Chunks of at most batch_groups_max groups. A shard is told its
    // outcomes once the chunk holding its last group is prepared, and that
    // chunk, when committed, makes its batch durable: told in that order.
    outcomes.clear();
    std::size_t next_span = 0;
    std::size_t told = 0;  // outcomes handed out so far
    auto tell_ready = [&](Prepared& chunk) {
      while (next_span < spans.size() && told + spans[next_span].groups <= outcomes.size()) {
        Span& span = spans[next_span++];
        const auto first = outcomes.begin() + static_cast<std::ptrdiff_t>(told);
        const auto last = first + static_cast<std::ptrdiff_t>(span.groups);
        Completion completion{span.shard, std::move(span.answer), {}, span.handed};
        if (completion.answer) {
          completion.as_handed.reserve(span.groups);
          for (auto it = first; it != last; ++it) completion.as_handed.push_back(it->posted && !it->duplicate);
        }
        std::vector<ledger::GroupOutcome> mine(std::make_move_iterator(first), std::make_move_iterator(last));
        told += span.groups;
        waiting_.fetch_sub(1, std::memory_order_relaxed);
        outcomes_(span.shard, std::move(mine));
        chunk.completes.push_back(std::move(completion));
      }
    };
    for (std::size_t first = 0; first < merged.size(); first += limits::batch_groups_max) {
      const std::size_t last = std::min(merged.size(), first + limits::batch_groups_max);
      std::vector<ledger::PostingGroup> chunk(std::make_move_iterator(merged.begin() + static_cast<std::ptrdiff_t>(first)),
                                              std::make_move_iterator(merged.begin() + static_cast<std::ptrdiff_t>(last)));
      auto prepared = ledger_.prepare(chunk);  // waits while prepared_posts_max are uncommitted
      if (!prepared) {
        // Fail-stop: nothing of this batch was written or answered.
        log_.event("ledger_write_failed", {{"stage", "prepare"}, {"error", prepared.status().to_string()},
                                           {"groups", std::to_string(chunk.size())}});
        std::abort();
      }
      for (const auto& outcome : (*prepared)->outcomes) outcomes.push_back(outcome);
      Prepared item;
      item.post = std::move(*prepared);
      item.groups = chunk.size();
      tell_ready(item);
      prepared_.push_control(std::move(item));
    }
    if (next_span < spans.size()) {  // empty batches only: told in order all the same
      Prepared item;
      tell_ready(item);
      prepared_.push_control(std::move(item));
    }
  }
  Prepared stop;
  stop.stop = true;
  prepared_.push_control(std::move(stop));
}

void Committer::commit_loop() {
  std::vector<Prepared> batch;
  for (;;) {
    batch.clear();
    prepared_.pop_all(batch, Clock::now() + std::chrono::milliseconds(100));
    for (auto& prepared : batch) {
      if (prepared.stop) return;
      const auto started = Clock::now();
      if (!prepared.post) {
        complete(prepared.completes);
        continue;
      }
      if (Status committed = ledger_.commit(*prepared.post); !committed) {
        // Fail-stop: nothing of this write (or a later one) was answered.
        log_.event("ledger_write_failed", {{"stage", "commit"}, {"error", committed.to_string()},
                                           {"groups", std::to_string(prepared.groups)}});
        std::abort();
      }
      metrics_.observe_commit(prepared.groups, std::chrono::duration<double>(Clock::now() - started).count());
      complete(prepared.completes);
    }
  }
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
