#include "committer.h"

#include "citycard/limits.h"

#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <iterator>

namespace citycard::engine {

Committer::Committer(ledger::Ledger& ledger, Metrics& metrics, Log& log, Deliver deliver)
    : ledger_(ledger), metrics_(metrics), log_(log), deliver_(std::move(deliver)), thread_([this] { run(); }) {}

Committer::~Committer() { stop(); }

void Committer::hand(Job job) {
  waiting_.fetch_add(1, std::memory_order_relaxed);
  inbox_.push_control(std::move(job));
}

void Committer::stop() {
  if (!thread_.joinable()) return;
  Job job;
  job.stop = true;
  inbox_.push_control(std::move(job));
  thread_.join();
}

void Committer::run() {
  using Clock = std::chrono::steady_clock;
  std::vector<Job> jobs;
  std::vector<ledger::PostingGroup> merged;
  bool stopping = false;
  while (!stopping) {
    jobs.clear();
    inbox_.pop_all(jobs, Clock::now() + std::chrono::milliseconds(100));
    if (jobs.empty()) continue;
    merged.clear();
    std::vector<std::size_t> counts;
    for (auto& job : jobs) {
      if (job.stop) {
        stopping = true;
        continue;
      }
      counts.push_back(job.groups.size());
      for (auto& group : job.groups) merged.push_back(std::move(group));
    }
    std::vector<ledger::GroupOutcome> outcomes;
    outcomes.reserve(merged.size());
    auto post_chunk = [&](const std::vector<ledger::PostingGroup>& chunk) {
      auto started = Clock::now();
      auto posted = ledger_.post(chunk);
      double seconds = std::chrono::duration<double>(Clock::now() - started).count();
      if (!posted) {
        // Fail-stop: nothing of this write is durable and nothing was answered.
        log_.event("ledger_write_failed", {{"error", posted.status().to_string()}, {"groups", std::to_string(chunk.size())}});
        std::abort();
      }
      metrics_.observe_commit(chunk.size(), seconds);
      for (auto& outcome : *posted) outcomes.push_back(std::move(outcome));
    };
    if (merged.size() <= limits::batch_groups_max) {
      if (!merged.empty()) post_chunk(merged);
    } else {
      for (std::size_t first = 0; first < merged.size(); first += limits::batch_groups_max) {
        std::size_t last = std::min(merged.size(), first + limits::batch_groups_max);
        std::vector<ledger::PostingGroup> chunk(std::make_move_iterator(merged.begin() + static_cast<std::ptrdiff_t>(first)),
                                                std::make_move_iterator(merged.begin() + static_cast<std::ptrdiff_t>(last)));
        post_chunk(chunk);
      }
    }
    std::size_t at = 0;
    std::size_t job_index = 0;
    for (auto& job : jobs) {
      if (job.stop) continue;
      std::size_t count = counts[job_index++];
      std::vector<ledger::GroupOutcome> mine(std::make_move_iterator(outcomes.begin() + static_cast<std::ptrdiff_t>(at)),
                                             std::make_move_iterator(outcomes.begin() + static_cast<std::ptrdiff_t>(at + count)));
      at += count;
      waiting_.fetch_sub(1, std::memory_order_relaxed);
      deliver_(job.shard, std::move(mine));
    }
  }
}

}  // namespace citycard::engine
