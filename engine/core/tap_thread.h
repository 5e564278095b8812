// The start of a thread a tap waits on (shard, prepare, commit): its name
// for top -H and perf, and its real-time priority if one is set
// (EngineOptions::realtime_priority). Engine::start has checked that the
// priority is allowed; if a thread is still refused, it runs on at the
// ordinary priority and says so.
#pragma once

#include <string>

#include "citycard/realtime.h"
#include "citycard/thread_name.h"
#include "log.h"

namespace citycard::engine {

inline void begin_tap_thread(const std::string& name, int realtime_priority, Log& log) {
  name_this_thread(name);
  if (Status realtime = run_this_thread_realtime(realtime_priority); !realtime) {
    log.event("realtime_refused", {{"thread", name}, {"error", realtime.to_string()}});
  }
}

}  // namespace citycard::engine
