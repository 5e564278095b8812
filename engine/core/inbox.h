// A bounded multi-producer, single-consumer queue with deadlines: the one
// kind of queue the engine uses between threads.
//
// Items are either counted (taps, admin requests: at most `capacity` waiting;
// try_push_counted refuses a push that would exceed it, so memory stays
// bounded and the caller answers "busy") or control messages (commit
// results, stop), which are always taken: there is at most one of each kind
// in flight per consumer, so they cannot grow without bound.
//
// Thread-safe. pop_all() is for the single consumer.
#pragma once

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
    {
      std::lock_guard lock(mutex_);
      if (counted_ + items.size() > capacity_) return false;
      counted_ += items.size();
      for (auto& item : items) queue_.push_back(Entry{std::move(item), true});
    }
    wake_.notify_one();
    return true;
  }

  void push_control(T item) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(Entry{std::move(item), false});
    }
    wake_.notify_one();
  }

  // Moves everything waiting into `out` (appending); waits until `deadline`
  // if nothing is. Returns the number of items moved.
  std::size_t pop_all(std::vector<T>& out, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, deadline, [this] { return !queue_.empty(); });
    std::size_t moved = queue_.size();
    for (auto& entry : queue_) {
      if (entry.counted) --counted_;
      out.push_back(std::move(entry.item));
    }
    queue_.clear();
    return moved;
  }

  // Counted items waiting (for metrics).
  std::size_t depth() const {
    std::lock_guard lock(mutex_);
    return counted_;
  }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Entry {
    T item;
    bool counted;
  };
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Entry> queue_;
  std::size_t counted_ = 0;
};

}  // namespace citycard::engine
