// The deterministic simulator: one seed runs the whole system -- the real
// engine pipeline (shards, group builder, committer) in Drive::steps, the
// real ledger on real RocksDB through a fault-injecting file system, the
// real settlement close, real reader journals -- with simulated readers,
// clerks, clock, network and process deaths. Each step is one move chosen by
// the seed's random source (a tap, an upload, a turn of one pipeline stage,
// a fault, a crash and recovery, ...); after every step the invariants
// (invariants.h) are checked. The first broken one ends the run with the
// seed and the step; the same seed replays it exactly (the trace hash says so).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "sim_file_system.h"
#include "traffic.h"

namespace citycard::sim {

struct SimOptions {
  std::uint64_t seed = 1;
  std::uint64_t steps = 400;
  // Where the run's files go (ledger, journals, settlement files, the
  // engine's log): a new directory under it, removed after a run that held.
  // tmpfs by default: the simulator models durability itself, and real
  // fsyncs (RocksDB's, the journals', the settlement files') only cost time.
  std::string work_dir = "/dev/shm";
  std::string rules_file;           // the city's rule set (rules/city.toml)
  bool keep_files = false;          // keep the run's directory even when it held
  std::FILE* steps_out = nullptr;   // one line per step when set
};

struct FaultCounts {
  std::uint64_t crashes = 0;         // process deaths at a step (kill)
  std::uint64_t fail_stops = 0;      // deaths because a ledger write failed (the engine's abort)
  std::uint64_t power_losses = 0;    // deaths that also lost what was not synced
  std::uint64_t clean_restarts = 0;
  DiskFaults disk;
};

struct SimReport {
  std::uint64_t seed = 0;
  std::uint64_t steps = 0;           // steps run
  bool held = true;
  std::uint64_t failed_step = 0;
  std::string failure;               // the invariant broken, in words
  std::uint64_t trace_hash = 0;
  std::uint64_t invariant_checks = 0;
  std::uint64_t days_closed = 0;
  std::uint64_t taps_decided = 0;
  std::string run_dir;
  FaultCounts faults;
  TrafficCounts traffic;
};

SimReport simulate(const SimOptions& options);

// "seed=S step=N invariant: ..." or "seed=S held: ..." with the counts.
std::string describe(const SimReport& report);

}  // namespace citycard::sim
