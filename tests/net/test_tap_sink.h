// TEST DOUBLE for the net layer only -- not the engine's TapSink. The real
// sink (shards, rating, ledger group commit) is built by the engine; this one
// lets the net tests run without a ledger.
//
// Decides each tap with a fixed function of its id (approved, except every
// sequence = 3 mod 7 is refused for insufficient balance), and remembers
// every decision, so a tap sent again gets its first decision back flagged
// replayed -- the behaviour the real sink must have. Decisions are made on
// its own worker thread, after an optional delay, so `done` is called from
// another thread as in the engine.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "engine/net/tap_sink.h"

namespace citycard::net::testing {

class RememberingTapSink final : public TapSink {
 public:
  explicit RememberingTapSink(std::chrono::milliseconds delay = std::chrono::milliseconds(0))
      : delay_(delay), worker_([this] { work(); }) {}

  ~RememberingTapSink() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }

  void submit(ReaderId /*reader*/, std::vector<protocol::TapRecord> taps,
              std::function<void(SubmitResult)> done) override {
    {
      std::lock_guard lock(mutex_);
      ++batches_submitted_;
      if (queue_.size() >= queue_capacity) {
        done(SubmitResult::busy(50));
        return;
      }
      queue_.push_back(Job{std::move(taps), std::move(done)});
    }
    wake_.notify_one();
  }

  // Only the next `batches` wait the delay; the rest are decided at once.
  void delay_only(std::size_t batches) {
    std::lock_guard lock(mutex_);
    delayed_batches_ = batches;
  }

  static protocol::DecisionRecord decide(const protocol::TapRecord& record) {
    protocol::DecisionRecord decision;
    decision.tap = record.tap.id;
    std::uint64_t sequence = record.tap.id.sequence;
    if (sequence % 7 == 3) {
      decision.outcome = protocol::Outcome::refused;
      decision.reason = RefusalReason::insufficient_balance;
      decision.balance_after_minor = 5;
    } else {
      decision.fare_minor = 10 + static_cast<std::int64_t>(sequence % 5);
      decision.balance_after_minor = 1000 - static_cast<std::int64_t>(sequence);
      decision.points_after = static_cast<std::int64_t>(sequence % 3);
    }
    return decision;
  }

  std::size_t taps_decided() const {
    std::lock_guard lock(mutex_);
    return decided_.size();
  }
  std::size_t batches_submitted() const {
    std::lock_guard lock(mutex_);
    return batches_submitted_;
  }

 private:
  static constexpr std::size_t queue_capacity = 1024;
  static constexpr std::size_t all_batches = static_cast<std::size_t>(-1);
  struct Job {
    std::vector<protocol::TapRecord> taps;
    std::function<void(SubmitResult)> done;
  };

  void work() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      Job job = std::move(queue_.front());
      queue_.pop_front();
      const bool delayed = delay_.count() > 0 && delayed_batches_ > 0;
      if (delayed && delayed_batches_ != all_batches) --delayed_batches_;
      lock.unlock();
      if (delayed) std::this_thread::sleep_for(delay_);
      lock.lock();
      std::vector<protocol::DecisionRecord> decisions;
      for (const protocol::TapRecord& record : job.taps) {
        auto [at, fresh] = decided_.try_emplace(record.tap.id, decide(record));
        protocol::DecisionRecord decision = at->second;
        if (!fresh) decision.flags |= protocol::DecisionFlags::replayed;
        decisions.push_back(decision);
      }
      lock.unlock();
      job.done(SubmitResult::decided_with(std::move(decisions)));
      lock.lock();
    }
  }

  std::chrono::milliseconds delay_;
  std::size_t delayed_batches_ = all_batches;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::map<TapId, protocol::DecisionRecord> decided_;
  std::size_t batches_submitted_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace citycard::net::testing
