// Real-time scheduling for the threads a tap waits on. Under SCHED_FIFO a
// runnable thread takes a core at once from any ordinary one (a flush
// sorting its memtable, a compaction, whatever else the machine runs)
// instead of queueing for its share; between taps these threads block, so
// the rest of the cores' time is left to everything else (bench/README.md,
// "Engine: sustained load", real-time scheduling).
#pragma once

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "citycard/status.h"

namespace citycard {

inline constexpr int realtime_priority_max = 99;

// Runs the calling thread SCHED_FIFO at `priority` (1..99); 0 leaves it as
// it is. Threads it starts afterwards inherit it.
inline Status run_this_thread_realtime(int priority) {
  if (priority == 0) return Status::ok();
  if (priority < 1 || priority > realtime_priority_max) {
    return Status::invalid_argument("realtime priority " + std::to_string(priority) + " is not 0 (off) or 1..99");
  }
  sched_param param{};
  param.sched_priority = priority;
  if (int error = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param); error != 0) {
    return Status::refused("cannot run threads SCHED_FIFO at realtime priority " + std::to_string(priority) + ": " +
                           std::strerror(error) + " (needs root or CAP_SYS_NICE, or RLIMIT_RTPRIO of at least " +
                           std::to_string(priority) + ")");
  }
  return Status::ok();
}

// Whether this process may run threads at `priority`, tried on a thread of
// its own (the caller's scheduling is left as it is).
inline Status check_realtime_allowed(int priority) {
  Status result = Status::ok();
  std::thread probe([&result, priority] { result = run_this_thread_realtime(priority); });
  probe.join();
  return result;
}

// The threads running real-time, as one set, so they can be let down to the
// ordinary scheduler together while something they would starve catches up
// (engine/core/realtime_yield.h) and raised again after. Thread-safe.
class RealtimeThreads {
 public:
  // The calling thread's membership, for as long as this object lives (keep
  // it in the thread's function: a thread id is only safe to set while its
  // thread runs).
  class Member {
   public:
    Member() = default;
    Member(Member&& other) noexcept : set_(std::exchange(other.set_, nullptr)), tid_(other.tid_) {}
    Member& operator=(Member&& other) noexcept {
      if (this != &other) {
        if (set_) set_->leave(tid_);
        set_ = std::exchange(other.set_, nullptr);
        tid_ = other.tid_;
      }
      return *this;
    }
    Member(const Member&) = delete;
    ~Member() {
      if (set_) set_->leave(tid_);
    }

   private:
    friend class RealtimeThreads;
    Member(RealtimeThreads* set, pid_t tid) : set_(set), tid_(tid) {}
    RealtimeThreads* set_ = nullptr;
    pid_t tid_ = 0;
  };

  // 0: no thread is made real-time, and join() and yield change nothing.
  explicit RealtimeThreads(int priority) : priority_(priority) {}
  int priority() const { return priority_; }

  // Runs the calling thread SCHED_FIFO at the priority (at the ordinary
  // priority while the set is yielded) and makes it a member. Refused: the
  // thread stays ordinary and out of the set.
  Status join(Member& member) {
    if (priority_ == 0) return Status::ok();
    const pid_t tid = static_cast<pid_t>(::syscall(SYS_gettid));
    {
      std::lock_guard lock(mutex_);
      if (!yielded_) {
        if (Status realtime = run_this_thread_realtime(priority_); !realtime) return realtime;
      }
      members_.push_back(tid);
    }
    member = Member(this, tid);
    return Status::ok();
  }

  // Every member to the ordinary scheduler (true) or back to SCHED_FIFO
  // (false). The first member that cannot be set is named; the others are
  // still set.
  Status set_yielded(bool yielded) {
    std::lock_guard lock(mutex_);
    if (priority_ == 0 || yielded == yielded_) return Status::ok();
    yielded_ = yielded;
    Status result = Status::ok();
    for (pid_t tid : members_) {
      sched_param param{};
      param.sched_priority = yielded ? 0 : priority_;
      if (::sched_setscheduler(tid, yielded ? SCHED_OTHER : SCHED_FIFO, &param) != 0 && result.is_ok()) {
        result = Status::io_error("cannot set the scheduling of thread " + std::to_string(tid) + ": " +
                                  std::strerror(errno));
      }
    }
    return result;
  }
  bool yielded() const {
    std::lock_guard lock(mutex_);
    return yielded_;
  }
  std::size_t members() const {
    std::lock_guard lock(mutex_);
    return members_.size();
  }

 private:
  void leave(pid_t tid) {
    std::lock_guard lock(mutex_);
    std::erase(members_, tid);
  }

  const int priority_;
  mutable std::mutex mutex_;
  std::vector<pid_t> members_;
  bool yielded_ = false;
};

}  // namespace citycard
