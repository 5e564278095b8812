// Many simulated readers over real TLS: each reader of the CityMap is one
// Uplink connection with its own certificate (PKI directory layout of
// `citycard pki`: DIR/ca.crt, DIR/readers/reader-N.crt and .key), sending its
// taps of the CityDay in sequence order, one batch in flight at a time, the
// way a validator with a queue does.
//
// Threads: `threads` workers, reader i on worker i % threads. A worker sends
// a batch for every idle reader with taps due, then collects the replies in
// the same order (Uplink calls block, each with a deadline). Open loop:
// tap k of the day's send order is due at step start + k / rate, and its
// latency counts from that moment (so a slow engine cannot hide queueing:
// no coordinated omission). Closed loop (rate 0): every tap is due at once,
// each reader sends up to batch_taps_max of them per batch, and latency
// counts from the batch's send.
//
// Each step starts at the frontier (the slowest reader's first undecided
// tap), so no step inherits a backlog from the one before.
//
// Bounded: a step ends at its duration or when its taps are decided, and then
// waits at most reply_timeout for replies in flight. A broken link is
// reconnected (reconnect_attempts) and the batch resent: the engine answers
// resent taps with their first decision (flag replayed).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "citycard/status.h"
#include "city_day.h"
#include "city_map.h"
#include "load_report.h"

namespace citycard::loadgen {

struct TlsLoadOptions {
  std::string host = "127.0.0.1";          // only loopback is used by the benches; default 127.0.0.1
  std::uint16_t port = 0;                  // the engine's tap port; required
  std::string server_name = "localhost";   // in the engine certificate; default localhost
  std::string pki_dir;                     // CA and reader certificates; required
  std::size_t threads = 4;                 // workers; default 4 (2 cores: keep it small)
  std::size_t batch_taps_max = 256;        // taps per batch at most; default 256
  std::chrono::milliseconds reply_timeout{5000};  // one batch to its decisions; default 5 s
  int reconnect_attempts = 5;              // per broken link; default 5
  std::size_t readers_max = 0;             // use only the first N readers of the map; 0 = all (default)
  // No reader sends a tap more than this many places (in the day's send
  // order) ahead of the slowest reader's first undecided tap, so a card's
  // taps at different readers reach the engine in city order even in a
  // closed loop. Default 32768.
  std::uint64_t lead_taps_max = 32'768;
};

struct LoadStep {
  double taps_per_second = 0;                  // 0 = closed loop
  std::chrono::milliseconds duration{10'000};  // at most; default 10 s
  std::uint64_t taps_max = 0;                  // at most this many taps; 0 = until the day runs out
};

class TlsLoad {
 public:
  // Connects every reader (TLS + hello). unavailable / invalid_argument with
  // the reader that failed.
  static Result<std::unique_ptr<TlsLoad>> connect(const CityDay& day, const CityMap& map, TlsLoadOptions options);
  ~TlsLoad();
  TlsLoad(const TlsLoad&) = delete;
  TlsLoad& operator=(const TlsLoad&) = delete;

  // Runs one step, continuing the day where the previous step stopped.
  LoadReport run(const LoadStep& step);
  // Taps of the day not yet sent.
  std::uint64_t remaining() const;

  class Impl;

 private:
  explicit TlsLoad(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace citycard::loadgen
