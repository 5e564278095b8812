// Real-time scheduling for the threads a tap waits on. Under SCHED_FIFO a
// runnable thread takes a core at once from any ordinary one (a flush
// sorting its memtable, a compaction, whatever else the machine runs)
// instead of queueing for its share; between taps these threads block, so
// the rest of the cores' time is left to everything else (bench/README.md,
// "Engine: sustained load", real-time scheduling).
#pragma once

#include <pthread.h>
#include <sched.h>

#include <cstring>
#include <string>
#include <thread>

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

}  // namespace citycard
