// The engine's counters and histograms, rendered in the Prometheus text
// exposition format (version 0.0.4). Updates are lock-free atomics from any
// thread; render() reads them without stopping anyone (a scrape may see a
// counter one update ahead of another, never a torn value).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "citycard/tap.h"
#include "ledger/storage_activity.h"

namespace citycard::engine {

// Fixed upper bounds; the last bucket is +Inf.
class Histogram {
 public:
  // The counts at one moment; two of them subtract to the observations
  // between (a bench step).
  struct Counts {
    std::vector<double> bounds;
    std::vector<std::uint64_t> buckets;  // bounds.size() + 1, the last one +Inf
    std::uint64_t count = 0;
    double sum = 0;
    Counts operator-(const Counts& earlier) const;
    double mean() const { return count ? sum / static_cast<double>(count) : 0; }
    // The upper bound of the bucket holding quantile q (0..1); +Inf past the last bound.
    double quantile_bound(double q) const;
    // Observations above `bound`, which must be one of `bounds`.
    std::uint64_t count_above(double bound) const;
    // The upper bound of the highest bucket holding any (0 when empty, +Inf past the last bound).
    double max_bound() const;
  };

  explicit Histogram(std::vector<double> bounds);
  void observe(double value) noexcept;
  Counts counts() const;
  // "name_bucket{le=..} n" lines, _sum and _count; `labels` without braces.
  void render(std::string& out, const std::string& name, const std::string& labels = {}) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> buckets_;  // bounds_.size() + 1
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::int64_t> sum_micro_{0};  // sum * 1e6, so the sum stays atomic
};

enum class TapResult : std::uint8_t { approved = 0, refused = 1, replayed = 2 };
inline constexpr int tap_result_count = 3;

struct Gauges {
  std::vector<std::size_t> shard_queue_depths;
  std::size_t shard_queue_capacity = 0;
  std::size_t committer_queue_depth = 0;
  std::uint64_t connections_open = 0;
  std::uint64_t connections_accepted = 0;
  std::uint64_t handshakes_failed = 0;
  std::uint64_t connections_errored = 0;
  std::uint64_t batches_retry_later = 0;
  std::uint64_t deny_list_version = 0;
  std::size_t cards_cached = 0;
  // The tap server's admission (engine/net/admission.h).
  std::uint64_t refused_connections_max = 0;
  std::uint64_t refused_fd_reserve = 0;
  std::uint64_t refused_pending_total = 0;
  std::uint64_t refused_pending_per_address = 0;
  std::uint64_t accept_errors = 0;
  std::uint64_t fd_limit = 0;
  std::uint64_t trust_reloads = 0;
  std::uint64_t closed_untrusted = 0;
  // Days until they run out (negative: past), at scrape time.
  double ca_certificate_days_left = 0;
  double engine_certificate_days_left = 0;
  double crl_days_left = 0;
  // The ledger's write volume and background work (ledger/storage_activity.h).
  ledger::StorageActivity storage;
  // The heap on huge pages (huge_page_heap.h): regions made resident ahead,
  // and those mapped when needed (faulted in by whoever touched them first).
  bool heap_huge_pages = false;
  std::uint64_t heap_regions_ready = 0;
  std::uint64_t heap_regions_in_place = 0;
  std::uint64_t heap_regions_large = 0;
  std::uint64_t heap_regions_waiting = 0;  // resident, not handed out yet (the reserve's rest)
};

class Metrics {
 public:
  Metrics();

  void count_tap(Mode mode, TapResult result) noexcept;
  void count_busy(std::size_t taps) noexcept { busy_taps_.fetch_add(taps, std::memory_order_relaxed); }
  void count_admin(bool ok) noexcept { (ok ? admin_ok_ : admin_failed_).fetch_add(1, std::memory_order_relaxed); }
  void count_ledger_rejection() noexcept { ledger_rejections_.fetch_add(1, std::memory_order_relaxed); }
  // The ledger's storage (storage_guard.h): whether it takes writes, the
  // outages since start, and taps answered retry_later because it did not.
  void set_storage_available(bool available) noexcept { storage_available_.store(available, std::memory_order_relaxed); }
  void count_storage_outage() noexcept { storage_outages_.fetch_add(1, std::memory_order_relaxed); }
  void count_storage_unavailable_taps(std::size_t taps) noexcept {
    storage_unavailable_taps_.fetch_add(taps, std::memory_order_relaxed);
  }
  std::uint64_t storage_unavailable_taps() const noexcept { return storage_unavailable_taps_.load(); }
  // The real-time tap path let down to the ordinary scheduler while the
  // flushes catch up (realtime_yield.h): now, and how often since start.
  void set_realtime_yielded(bool yielded) noexcept {
    if (yielded && !realtime_yielded_.exchange(true, std::memory_order_relaxed)) {
      realtime_yields_.fetch_add(1, std::memory_order_relaxed);
    }
    if (!yielded) realtime_yielded_.store(false, std::memory_order_relaxed);
  }
  std::uint64_t realtime_yields() const noexcept { return realtime_yields_.load(std::memory_order_relaxed); }
  bool realtime_yielded() const noexcept { return realtime_yielded_.load(std::memory_order_relaxed); }
  // A refused decision (not a replay), by why.
  void count_refusal(RefusalReason reason) noexcept {
    refusals_[static_cast<std::size_t>(reason) < refusals_.size() ? static_cast<std::size_t>(reason) : 0].fetch_add(
        1, std::memory_order_relaxed);
  }
  std::uint64_t refusals(RefusalReason reason) const noexcept {
    return static_cast<std::size_t>(reason) < refusals_.size() ? refusals_[static_cast<std::size_t>(reason)].load() : 0;
  }
  void observe_decision_latency_seconds(double seconds) noexcept { decision_latency_.observe(seconds); }
  // One synced write of `prepared_writes` prepared writes (several when they
  // waited behind a slow one) holding `groups` posting groups.
  void observe_commit(std::size_t groups, std::size_t prepared_writes, double post_seconds) noexcept;
  std::uint64_t commits() const noexcept { return commits_.load(std::memory_order_relaxed); }
  std::uint64_t prepared_writes_committed() const noexcept { return prepared_writes_.load(std::memory_order_relaxed); }
  // Stages of a decision's latency: a tap's wait from submission until its
  // shard takes it, and a shard batch's from hand-over until durable. What
  // the decision latency holds beyond them is the batch window, the rating
  // and the answer's way out.
  void observe_shard_wait_seconds(double seconds) noexcept { shard_wait_.observe(seconds); }
  void observe_handover_to_durable_seconds(double seconds) noexcept { handover_to_durable_.observe(seconds); }
  // The hops inside hand-over to durable: until the batch is prepared (its
  // prepare waits while Ledger::prepared_posts_max writes are uncommitted),
  // then until its write starts (behind the write in flight).
  void observe_handover_to_prepared_seconds(double seconds) noexcept { handover_to_prepared_.observe(seconds); }
  void observe_commit_queue_seconds(double seconds) noexcept { commit_queue_.observe(seconds); }

  const Histogram& decision_latency() const noexcept { return decision_latency_; }
  const Histogram& commit_groups() const noexcept { return batch_groups_; }
  const Histogram& commit_seconds() const noexcept { return post_seconds_; }
  const Histogram& shard_wait() const noexcept { return shard_wait_; }
  const Histogram& handover_to_durable() const noexcept { return handover_to_durable_; }
  const Histogram& handover_to_prepared() const noexcept { return handover_to_prepared_; }
  const Histogram& commit_queue() const noexcept { return commit_queue_; }

  std::uint64_t taps(Mode mode, TapResult result) const noexcept;
  std::uint64_t taps_total() const noexcept;

  // The whole exposition; `gauges` supplies the values read at scrape time.
  std::string render(const Gauges& gauges) const;

 private:
  std::array<std::array<std::atomic<std::uint64_t>, tap_result_count>, mode_count + 1> taps_{};
  std::atomic<std::uint64_t> busy_taps_{0};
  std::atomic<std::uint64_t> admin_ok_{0};
  std::atomic<std::uint64_t> admin_failed_{0};
  std::atomic<std::uint64_t> ledger_rejections_{0};
  std::atomic<bool> storage_available_{true};
  std::atomic<std::uint64_t> storage_outages_{0};
  std::atomic<std::uint64_t> storage_unavailable_taps_{0};
  std::atomic<bool> realtime_yielded_{false};
  std::atomic<std::uint64_t> realtime_yields_{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(refusal_reason_last) + 1> refusals_{};
  std::atomic<std::uint64_t> commits_{0};
  std::atomic<std::uint64_t> prepared_writes_{0};
  Histogram decision_latency_;
  Histogram batch_groups_;
  Histogram post_seconds_;
  Histogram shard_wait_;
  Histogram handover_to_durable_;
  Histogram handover_to_prepared_;
  Histogram commit_queue_;
};

}  // namespace citycard::engine
