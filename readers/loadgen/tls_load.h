// Many simulated readers over real TLS: each reader of the CityMap is one
// asynchronous TLS connection with its own certificate (PKI directory layout
// of `citycard pki`: DIR/ca.crt, DIR/readers/reader-N.crt and .key), sending
// its taps of the CityDay in sequence order, up to inflight_batches_max
// batches in flight.
//
// Threads: `threads` workers, reader i on worker i % threads; each worker
// runs one io_context on which its readers are independent, event-driven
// devices (reader_link.h, tls_load.cpp): a reader sends a batch as soon as a
// tap of its falls due and it has room in flight, and takes its decisions
// (and their latency) the moment they arrive, so no reader waits for
// another's reply. Open loop: tap k of the day's send order is due at step
// start + k / rate, and its latency counts from that moment (so a slow engine
// cannot hide queueing: no coordinated omission; the wake-up for a due tap
// is rounded up to send_slack). Closed loop (rate 0): every tap is due at
// once, each reader sends up to batch_taps_max of them per batch, and
// latency counts from the batch's first send.
//
// No reader runs more than lead_taps_max positions ahead of the slowest
// (the frontier), and each step starts at the frontier, so no step inherits
// a backlog from the one before.
//
// Bounded: a step sends nothing after its duration, stops early when its
// taps are decided, and waits at most reply_timeout after its end for
// replies in flight (those not answered by then count as errors and are
// sent again in the next step). retry_later is honoured after its hint (that
// batch goes again, nothing new before it). A broken link is reconnected
// (reconnect_attempts, backoff from 50 ms doubling) and the batches in flight
// resent in order: the engine answers resent taps with their first decision
// (flag replayed). A reader whose batches are refused by two error frames,
// or fail more than reconnect_attempts times, with no decision between, or
// that cannot reconnect, is stopped. Bad frames from the engine are errors of that
// reader's link (it is closed and reconnected), never a crash.
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
  // Batches a reader has in flight at most (the engine's hello_ack may allow
  // fewer). 1: a validator with a queue, whose taps wait for the answer to
  // its previous batch and then go together (default). More: a tap goes
  // when it falls due. On the 2-core bench machine at 20k taps/s, 8 gave a
  // worse p99 than 1 (more, smaller batches and no backpressure from the
  // reader; bench/README.md).
  std::size_t inflight_batches_max = 1;
  std::chrono::milliseconds reply_timeout{5000};  // one batch to its decisions; default 5 s
  int reconnect_attempts = 5;              // per broken link; default 5
  std::size_t readers_max = 0;             // use only the first N readers of the map; 0 = all (default)
  // No reader sends a tap more than this many places (in the day's send
  // order) ahead of the slowest reader's first undecided tap, so a card's
  // taps at different readers stay near city order even in a closed loop
  // (card_order below keeps each card's own taps in order). Default 32768.
  std::uint64_t lead_taps_max = 32'768;
  // No tap is sent before the previous tap of its card (in the day's send
  // order) has been decided, where that was at another reader (one link
  // delivers a reader's batches in order). The simulated day runs thousands of times
  // faster than the city's, so a top-up at a shop till and the bus boarding
  // a minute later fall within a millisecond, at different readers; a card
  // cannot be at two readers at once, and without this the engine would see
  // them in either order and decide differently from run to run (the demo's
  // totals differed). Offline uploads keep their place in the send order:
  // they are late by design. Default on; off only to measure the engine
  // with a card's taps racing each other.
  bool card_order = true;
  // Open loop: a reader whose next tap falls due wakes at the next multiple
  // of this after the step's start, so readers falling due together are
  // woken (and their batches sent) in one turn of their worker's loop rather
  // than one wake-up each: fewer wake-ups and context switches for the
  // generator and the engine's loop on a shared machine. Latency still counts
  // from the due time, so this adds at most send_slack to it. 0 = wake at
  // the due time itself. Default 500 us.
  std::chrono::microseconds send_slack{500};
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
