#include "stop_signal.h"

#include <csignal>
#include <cerrno>
#include <ctime>

#include <pthread.h>

namespace citycard::engine {

bool stop_signal_within(std::chrono::milliseconds interval) {
  sigset_t stops;
  sigemptyset(&stops);
  sigaddset(&stops, SIGTERM);
  sigaddset(&stops, SIGINT);
  // Blocked, the signal waits for sigtimedwait instead of ending the
  // process by its default action in the middle of a wait.
  sigset_t before;
  pthread_sigmask(SIG_BLOCK, &stops, &before);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(interval);
  timespec timeout{static_cast<std::time_t>(seconds.count()),
                   static_cast<long>(std::chrono::nanoseconds(interval - seconds).count())};
  int taken = -1;
  for (;;) {
    taken = sigtimedwait(&stops, nullptr, &timeout);
    // EINTR: another signal's handler ran; the whole interval again is as
    // good a pause between two tries.
    if (taken >= 0 || errno != EINTR) break;
  }
  pthread_sigmask(SIG_SETMASK, &before, nullptr);
  return taken == SIGTERM || taken == SIGINT;
}

}  // namespace citycard::engine
