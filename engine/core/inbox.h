// A bounded multi-producer, single-consumer queue with deadlines: the one
// kind of queue the engine uses between threads.
//
// Items are either counted (taps, admin requests: at most `capacity` waiting;
// try_push_counted refuses a push that would exceed it, so memory stays
// bounded and the caller answers "busy") or control messages (commit
// results, stop), which are always taken: there is at most one of each kind
// in flight per consumer, so they cannot grow without bound.
//
// The consumer says how many counted items are worth waking for: a shard
// inside its batch window has nothing to do for one more tap, and being woken
// (and put back to sleep) per tap cost a futex call and a switch each. A
// control message always wakes it.
//
// Thread-safe. pop_all() is for the single consumer.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <vector>

namespace citycard::engine {

template <typename T>
class Inbox {
 public:
  explicit Inbox(std::size_t capacity) : capacity_(capacity) {}

  // Takes all of `items` (each counted) or none; false when they do not fit.
  bool try_push_counted(std::vector<T>& items) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      if (counted_ + items.size() > capacity_) return false;
      counted_ += items.size();
      for (auto& item : items) queue_.push_back(Entry{std::move(item), true});
      wake = should_wake();
    }
    if (wake) wake_.notify_one();
    return true;
  }

  void push_control(T item) {
    bool wake = false;
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(Entry{std::move(item), false});
      ++controls_;
      wake = should_wake();
    }
    if (wake) wake_.notify_one();
  }

  // Moves everything waiting into `out` (appending) once a control message
  // or at least `wake_at_counted` counted items wait (at most half the
  // capacity is asked for, so a full queue always wakes), or at `deadline`
  // with whatever is there. Returns the number of items moved.
  std::size_t pop_all(std::vector<T>& out, std::chrono::steady_clock::time_point deadline,
                      std::size_t wake_at_counted = 1) {
    std::unique_lock lock(mutex_);
    wake_at_ = std::clamp<std::size_t>(wake_at_counted, 1, std::max<std::size_t>(1, capacity_ / 2));
    while (!ready()) {
      sleeping_ = true;
      if (wake_.wait_until(lock, deadline) == std::cv_status::timeout) break;
    }
    sleeping_ = false;
    std::size_t moved = queue_.size();
    for (auto& entry : queue_) {
      if (entry.counted) --counted_;
      out.push_back(std::move(entry.item));
    }
    queue_.clear();
    controls_ = 0;
    return moved;
  }

  // Counted items waiting (for metrics).
  std::size_t depth() const {
    std::lock_guard lock(mutex_);
    return counted_;
  }
  std::size_t capacity() const noexcept { return capacity_; }
  // Nothing waiting, counted or control.
  bool empty() const {
    std::lock_guard lock(mutex_);
    return queue_.empty();
  }

 private:
  struct Entry {
    T item;
    bool counted;
  };
  bool ready() const { return controls_ > 0 || counted_ >= wake_at_; }
  // Under the lock: one notify per sleep, and only when it has a reason.
  bool should_wake() {
    if (!sleeping_ || !ready()) return false;
    sleeping_ = false;
    return true;
  }
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> queue_;
  std::size_t counted_ = 0;
  std::size_t controls_ = 0;
  std::size_t wake_at_ = 1;  // the consumer's threshold while it sleeps
  bool sleeping_ = false;
};

}  // namespace citycard::engine
