// Names the calling thread (at most 15 characters are kept) so an on-call
// engineer can tell the engine's threads apart in top -H, perf and
// /proc/PID/task/*/comm.
#pragma once

#include <pthread.h>

#include <string>

namespace citycard {

inline void name_this_thread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace citycard
