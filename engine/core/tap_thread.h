// The start of a thread a tap waits on (shard, prepare, commit): its name
// for top -H and perf, and its membership of the engine's real-time set if
// there is one (EngineOptions::realtime_priority; realtime_yield.h lets the
// set down while the flushes catch up). Engine::start has checked that the
// priority is allowed; if a thread is still refused, it runs on at the
// ordinary priority and says so. Keep the returned member for the thread's life.
#pragma once

#include <string>

#include "citycard/realtime.h"
#include "citycard/thread_name.h"
#include "log.h"

namespace citycard::engine {

[[nodiscard]] inline RealtimeThreads::Member begin_tap_thread(const std::string& name, RealtimeThreads* realtime,
                                                              Log& log) {
  name_this_thread(name);
  RealtimeThreads::Member member;
  if (realtime == nullptr) return member;
  if (Status joined = realtime->join(member); !joined) {
    log.event("realtime_refused", {{"thread", name}, {"error", joined.to_string()}});
  }
  return member;
}

}  // namespace citycard::engine
