// Waiting before the event loop runs (citycard-engine waiting for disk
// space at start, docs/engine.md "Storage failures") while still stopping
// at once on SIGTERM or SIGINT, as the running engine does.
#pragma once

#include <chrono>

namespace citycard::engine {

// Waits `interval`; true when SIGTERM or SIGINT came meanwhile (it is
// taken: the caller stops). Call from the main thread before any other
// thread runs, so that no thread takes the signal in its place.
bool stop_signal_within(std::chrono::milliseconds interval);

}  // namespace citycard::engine
