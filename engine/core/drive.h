// Who turns the pipeline's stages (engine.h).
#pragma once

#include <cstdint>

namespace citycard::engine {

enum class Drive : std::uint8_t {
  // Each shard and each of the committer's two stages on its own thread,
  // woken by its queue and its batch window (citycard-engine).
  threads,
  // No threads: the caller turns each stage, one at a time, on its own
  // thread, in an order it chooses (Engine::turn_shard, turn_prepare,
  // turn_commit). The deterministic simulator (tests/sim/) drives the engine
  // so: one seed, one order of events. The stages run the same code.
  steps,
};

}  // namespace citycard::engine
