// Uploads the offline queue to the engine in order, with exponential backoff
// and jitter while the link is down, and prunes what the engine acknowledged.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

#include "citycard/limits.h"
#include "engine_link.h"
#include "journal.h"

namespace citycard::agent {

struct UploadOptions {
  std::size_t batch_taps_max = limits::batch_taps_max;          // taps per submit; default 512
  std::chrono::milliseconds attempt_timeout{5000};              // deadline of one submit; default 5 s
  std::chrono::milliseconds backoff_initial{500};               // after the first failure; default 0.5 s
  std::chrono::milliseconds backoff_max{60000};                 // cap; default 60 s
  // Seeds the jitter so a fleet that regains coverage together does not
  // retry in lockstep; use the reader id.
  std::uint32_t jitter_seed = 1;
};

struct UploadReport {
  std::size_t taps_sent = 0;
  std::size_t taps_acknowledged = 0;
  Status error;                 // ok, or why this attempt failed
  bool attempted = false;       // false: nothing waiting, or backing off
};

class Uploader {
 public:
  Uploader(Journal& journal, EngineLink& link, UploadOptions options)
      : journal_(journal), link_(link), options_(options), jitter_(options.jitter_seed) {}

  // One attempt if taps are waiting and no backoff is running at now.
  UploadReport step(Clock::time_point now);

  Clock::time_point next_attempt() const noexcept { return next_attempt_; }
  std::uint32_t consecutive_failures() const noexcept { return failures_; }

 private:
  void back_off(Clock::time_point now, bool to_max);

  Journal& journal_;
  EngineLink& link_;
  UploadOptions options_;
  std::minstd_rand jitter_;
  Clock::time_point next_attempt_{};
  std::uint32_t failures_ = 0;
};

}  // namespace citycard::agent
