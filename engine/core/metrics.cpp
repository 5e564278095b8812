#include "metrics.h"

#include <cmath>
#include <cstdio>

namespace citycard::engine {
namespace {

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

const char* result_name(int result) {
  switch (result) {
    case 0: return "approved";
    case 1: return "refused";
    default: return "replayed";
  }
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void sample(std::string& out, const std::string& name, double value) {
  out += name;
  out += ' ';
  out += number(value);
  out += '\n';
}

// Seconds; fine around the 10 ms a decision may take at most.
std::vector<double> latency_bounds() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0};
}

// The ledger's storage: what taps cost on disk and what competes with them.
void render_storage(std::string& out, const ledger::StorageActivity& storage) {
  auto counter = [&out](const char* name, const char* help, double value) {
    header(out, name, "counter", help);
    sample(out, name, value);
  };
  auto gauge = [&out](const char* name, const char* help, double value) {
    header(out, name, "gauge", help);
    sample(out, name, value);
  };
  auto d = [](std::uint64_t value) { return static_cast<double>(value); };
  counter("citycard_ledger_synced_writes_total", "Synced ledger writes (every writer, not only taps).", d(storage.synced_writes));
  counter("citycard_ledger_log_bytes_total", "Bytes those writes put in RocksDB's write-ahead log (record headers aside).",
          d(storage.log_bytes_written));
  counter("citycard_ledger_write_seconds_total", "Time in synced ledger writes.", d(storage.write_micros) / 1e6);
  counter("citycard_ledger_log_sync_seconds_total", "Of which syncing the write-ahead log (fdatasync).",
          d(storage.log_sync_micros) / 1e6);
  header(out, "citycard_ledger_slow_writes_total", "counter",
         "Synced writes of 10 ms or more, by where most of the time went (log sync: the disk).");
  out += "citycard_ledger_slow_writes_total{in=\"log_sync\"} " + std::to_string(storage.slow_writes_in_sync) + "\n";
  out += "citycard_ledger_slow_writes_total{in=\"elsewhere\"} " + std::to_string(storage.slow_writes_elsewhere) + "\n";
  counter("citycard_ledger_flushes_total", "Memtable flushes finished.", d(storage.flushes));
  counter("citycard_ledger_flush_bytes_total", "Bytes of table files the flushes wrote.", d(storage.flush_bytes_written));
  counter("citycard_ledger_flush_seconds_total", "Time spent in flushes.", d(storage.flush_micros) / 1e6);
  counter("citycard_ledger_compactions_total", "Compactions finished.", d(storage.compactions));
  counter("citycard_ledger_compaction_read_bytes_total", "Bytes compactions read.", d(storage.compaction_bytes_read));
  counter("citycard_ledger_compaction_written_bytes_total", "Bytes compactions wrote.", d(storage.compaction_bytes_written));
  counter("citycard_ledger_compaction_seconds_total", "Time spent in compactions.", d(storage.compaction_micros) / 1e6);
  header(out, "citycard_ledger_write_stalls_total", "counter", "Times RocksDB slowed down or stopped the ledger's writes.");
  out += "citycard_ledger_write_stalls_total{kind=\"slowdown\"} " + std::to_string(storage.write_slowdowns) + "\n";
  out += "citycard_ledger_write_stalls_total{kind=\"stop\"} " + std::to_string(storage.write_stops) + "\n";
  counter("citycard_ledger_write_stall_seconds_total", "Time some column family's writes were slowed or stopped (ended stalls).",
          d(storage.write_stall_micros) / 1e6);
  gauge("citycard_ledger_table_bytes", "Bytes of the ledger's table (SST) files.", d(storage.table_bytes));
  gauge("citycard_ledger_memtable_bytes", "Bytes in memtables, active and waiting to flush.", d(storage.memtable_bytes));
  gauge("citycard_ledger_pending_compaction_bytes", "RocksDB's estimate of the bytes compaction still has to rewrite.",
        d(storage.pending_compaction_bytes));
  gauge("citycard_ledger_level0_files_max", "Most level-0 files in one column family (writes slow down at 20).",
        d(storage.level0_files_max));
  gauge("citycard_ledger_flushes_running", "Flushes running now.", d(storage.flushes_running));
  gauge("citycard_ledger_compactions_running", "Compactions running now.", d(storage.compactions_running));
  auto by_family = [&out, &storage](const char* name, const char* help, auto field) {
    header(out, name, "gauge", help);
    for (const ledger::FamilyUsage& family : storage.families) {
      out += std::string(name) + "{family=\"" + family.name + "\"} " + std::to_string(field(family)) + "\n";
    }
  };
  by_family("citycard_ledger_family_entries", "Entries in a column family's table files (memtables aside).",
            [](const ledger::FamilyUsage& f) { return f.entries; });
  by_family("citycard_ledger_family_raw_bytes", "Their keys and values, uncompressed.",
            [](const ledger::FamilyUsage& f) { return f.raw_bytes; });
  by_family("citycard_ledger_family_table_bytes", "A column family's table files, compressed.",
            [](const ledger::FamilyUsage& f) { return f.table_bytes; });
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1) {}

void Histogram::observe(double value) noexcept {
  std::size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micro_.fetch_add(static_cast<std::int64_t>(std::llround(value * 1e6)), std::memory_order_relaxed);
}

Histogram::Counts Histogram::counts() const {
  Counts counts;
  counts.bounds = bounds_;
  counts.buckets.reserve(buckets_.size());
  for (const auto& bucket : buckets_) counts.buckets.push_back(bucket.load(std::memory_order_relaxed));
  counts.count = count_.load(std::memory_order_relaxed);
  counts.sum = static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6;
  return counts;
}

Histogram::Counts Histogram::Counts::operator-(const Counts& earlier) const {
  Counts difference = *this;
  for (std::size_t i = 0; i < buckets.size() && i < earlier.buckets.size(); ++i) difference.buckets[i] -= earlier.buckets[i];
  difference.count -= earlier.count;
  difference.sum -= earlier.sum;
  return difference;
}

double Histogram::Counts::quantile_bound(double q) const {
  if (count == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (seen >= rank) return i < bounds.size() ? bounds[i] : INFINITY;
  }
  return INFINITY;
}

std::uint64_t Histogram::Counts::count_above(double bound) const {
  std::uint64_t above = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    if (i > 0 && bounds[i - 1] >= bound) above += buckets[i];
  }
  return above;
}

double Histogram::Counts::max_bound() const {
  for (std::size_t i = buckets.size(); i-- > 0;) {
    if (buckets[i] > 0) return i < bounds.size() ? bounds[i] : INFINITY;
  }
  return 0;
}

void Histogram::render(std::string& out, const std::string& name, const std::string& labels) const {
  std::uint64_t cumulative = 0;
  std::string prefix = labels.empty() ? "" : labels + ",";
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    std::string le = i < bounds_.size() ? number(bounds_[i]) : "+Inf";
    out += name + "_bucket{" + prefix + "le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  std::string suffix = labels.empty() ? "" : "{" + labels + "}";
  out += name + "_sum" + suffix + " " + number(static_cast<double>(sum_micro_.load(std::memory_order_relaxed)) / 1e6) + "\n";
  out += name + "_count" + suffix + " " + std::to_string(count_.load(std::memory_order_relaxed)) + "\n";
}

Metrics::Metrics()
    : decision_latency_(latency_bounds()),
      batch_groups_({1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192}),
      post_seconds_(latency_bounds()),
      shard_wait_(latency_bounds()),
      handover_to_durable_(latency_bounds()),
      handover_to_prepared_(latency_bounds()),
      commit_queue_(latency_bounds()) {}

void Metrics::count_tap(Mode mode, TapResult result) noexcept {
  auto m = static_cast<std::size_t>(mode);
  if (m > static_cast<std::size_t>(mode_count)) m = 0;
  taps_[m][static_cast<std::size_t>(result)].fetch_add(1, std::memory_order_relaxed);
}

void Metrics::observe_commit(std::size_t groups, std::size_t prepared_writes, double post_seconds) noexcept {
  commits_.fetch_add(1, std::memory_order_relaxed);
  prepared_writes_.fetch_add(prepared_writes, std::memory_order_relaxed);
  batch_groups_.observe(static_cast<double>(groups));
  post_seconds_.observe(post_seconds);
}

std::uint64_t Metrics::taps(Mode mode, TapResult result) const noexcept {
  return taps_[static_cast<std::size_t>(mode)][static_cast<std::size_t>(result)].load(std::memory_order_relaxed);
}

std::uint64_t Metrics::taps_total() const noexcept {
  std::uint64_t total = 0;
  for (const auto& row : taps_) {
    for (const auto& cell : row) total += cell.load(std::memory_order_relaxed);
  }
  return total;
}

std::string Metrics::render(const Gauges& gauges) const {
  std::string out;
  out.reserve(8192);
  header(out, "citycard_taps_total", "counter", "Taps decided, by mode and result (rate() gives taps/s).");
  for (int m = 1; m <= mode_count; ++m) {
    for (int r = 0; r < tap_result_count; ++r) {
      out += "citycard_taps_total{mode=\"" + std::string(mode_name(static_cast<Mode>(m))) + "\",result=\"" +
             result_name(r) + "\"} " +
             std::to_string(taps_[static_cast<std::size_t>(m)][static_cast<std::size_t>(r)].load(std::memory_order_relaxed)) +
             "\n";
    }
  }
  header(out, "citycard_taps_busy_total", "counter", "Taps answered retry_later because a shard queue was full.");
  sample(out, "citycard_taps_busy_total", static_cast<double>(busy_taps_.load()));
  header(out, "citycard_decision_latency_seconds", "histogram", "From a batch's submission to its decisions, durable.");
  decision_latency_.render(out, "citycard_decision_latency_seconds");
  header(out, "citycard_commit_groups", "histogram", "Posting groups per synced ledger write (group commit size).");
  batch_groups_.render(out, "citycard_commit_groups");
  header(out, "citycard_ledger_post_seconds", "histogram", "Time of one synced ledger post (WAL sync included).");
  post_seconds_.render(out, "citycard_ledger_post_seconds");
  header(out, "citycard_shard_wait_seconds", "histogram", "From a tap's submission until its shard takes it from the queue.");
  shard_wait_.render(out, "citycard_shard_wait_seconds");
  header(out, "citycard_handover_to_durable_seconds", "histogram",
         "From a shard handing a batch to the committer until it is durable (prepare, queue, synced write).");
  handover_to_durable_.render(out, "citycard_handover_to_durable_seconds");
  header(out, "citycard_handover_to_prepared_seconds", "histogram",
         "From a shard handing a batch to the committer until it is prepared (waiting while the most writes allowed are uncommitted).");
  handover_to_prepared_.render(out, "citycard_handover_to_prepared_seconds");
  header(out, "citycard_commit_queue_seconds", "histogram",
         "From a prepared write until its synced write starts (behind the write in flight).");
  commit_queue_.render(out, "citycard_commit_queue_seconds");
  header(out, "citycard_commits_total", "counter", "Synced ledger writes made by the committer.");
  sample(out, "citycard_commits_total", static_cast<double>(commits_.load()));
  header(out, "citycard_commit_prepared_writes_total", "counter",
         "Prepared writes the committer made durable; above citycard_commits_total when several that waited went in one synced write.");
  sample(out, "citycard_commit_prepared_writes_total", static_cast<double>(prepared_writes_.load()));
  header(out, "citycard_ledger_rejections_total", "counter", "Tap groups the ledger rejected (limits); answered refused.");
  sample(out, "citycard_ledger_rejections_total", static_cast<double>(ledger_rejections_.load()));
  header(out, "citycard_storage_available", "gauge",
         "1 while the ledger takes writes; 0 from a failed write (full disk, failed sync) until it recovers.");
  sample(out, "citycard_storage_available", storage_available_.load() ? 1.0 : 0.0);
  header(out, "citycard_storage_outages_total", "counter", "Times the ledger stopped taking writes since start.");
  sample(out, "citycard_storage_outages_total", static_cast<double>(storage_outages_.load()));
  header(out, "citycard_taps_storage_unavailable_total", "counter",
         "Taps answered retry_later storage_unavailable: not durable, the reader decides offline and resends.");
  sample(out, "citycard_taps_storage_unavailable_total", static_cast<double>(storage_unavailable_taps_.load()));
  header(out, "citycard_realtime_yielded", "gauge",
         "1 while the real-time tap path runs at the ordinary priority because the ledger's flushes fall behind.");
  sample(out, "citycard_realtime_yielded", realtime_yielded_.load() ? 1.0 : 0.0);
  header(out, "citycard_realtime_yields_total", "counter",
         "Times the real-time tap path yielded to the ledger's flushes since start.");
  sample(out, "citycard_realtime_yields_total", static_cast<double>(realtime_yields_.load()));
  header(out, "citycard_tap_refusals_total", "counter", "Taps refused (first decisions, not replays), by reason.");
  for (std::size_t r = 1; r < refusals_.size(); ++r) {
    out += "citycard_tap_refusals_total{reason=\"" + std::string(refusal_reason_name(static_cast<RefusalReason>(r))) +
           "\"} " + std::to_string(refusals_[r].load()) + "\n";
  }
  header(out, "citycard_admin_requests_total", "counter", "Admin API requests, by result.");
  out += "citycard_admin_requests_total{result=\"ok\"} " + std::to_string(admin_ok_.load()) + "\n";
  out += "citycard_admin_requests_total{result=\"error\"} " + std::to_string(admin_failed_.load()) + "\n";
  render_storage(out, gauges.storage);
  header(out, "citycard_heap_huge_pages", "gauge",
         "1 when the heap is on huge pages made resident ahead of use (pipeline.huge_page_heap).");
  sample(out, "citycard_heap_huge_pages", gauges.heap_huge_pages ? 1.0 : 0.0);
  header(out, "citycard_heap_regions_total", "counter",
         "Heap regions taken since start: 64 MiB ready (made resident ahead) or in_place (mapped when needed, "
         "faulted in by a tap thread), or large (one allocation over 32 MiB, mapped on its own).");
  out += "citycard_heap_regions_total{kind=\"ready\"} " + std::to_string(gauges.heap_regions_ready) + "\n";
  out += "citycard_heap_regions_total{kind=\"in_place\"} " + std::to_string(gauges.heap_regions_in_place) + "\n";
  out += "citycard_heap_regions_total{kind=\"large\"} " + std::to_string(gauges.heap_regions_large) + "\n";
  header(out, "citycard_heap_regions_waiting", "gauge",
         "Heap regions of 64 MiB made resident and not handed out yet (what is left of pipeline.heap_reserve_mib).");
  sample(out, "citycard_heap_regions_waiting", static_cast<double>(gauges.heap_regions_waiting));
  header(out, "citycard_shard_queue_depth", "gauge", "Taps and admin requests waiting in a shard's queue.");
  for (std::size_t i = 0; i < gauges.shard_queue_depths.size(); ++i) {
    out += "citycard_shard_queue_depth{shard=\"" + std::to_string(i) + "\"} " +
           std::to_string(gauges.shard_queue_depths[i]) + "\n";
  }
  header(out, "citycard_shard_queue_capacity", "gauge", "Capacity of each shard queue.");
  sample(out, "citycard_shard_queue_capacity", static_cast<double>(gauges.shard_queue_capacity));
  header(out, "citycard_committer_queue_depth", "gauge", "Shard batches waiting for the committer.");
  sample(out, "citycard_committer_queue_depth", static_cast<double>(gauges.committer_queue_depth));
  header(out, "citycard_cards_cached", "gauge", "Card states held in shard memory.");
  sample(out, "citycard_cards_cached", static_cast<double>(gauges.cards_cached));
  header(out, "citycard_connections_open", "gauge", "Reader connections open.");
  sample(out, "citycard_connections_open", static_cast<double>(gauges.connections_open));
  header(out, "citycard_connections_accepted_total", "counter", "Reader connections accepted.");
  sample(out, "citycard_connections_accepted_total", static_cast<double>(gauges.connections_accepted));
  header(out, "citycard_handshakes_failed_total", "counter", "TLS handshakes refused or timed out.");
  sample(out, "citycard_handshakes_failed_total", static_cast<double>(gauges.handshakes_failed));
  header(out, "citycard_connections_errored_total", "counter", "Connections closed with an error frame.");
  sample(out, "citycard_connections_errored_total", static_cast<double>(gauges.connections_errored));
  header(out, "citycard_batches_retry_later_total", "counter", "Tap batches answered retry_later by the server.");
  sample(out, "citycard_batches_retry_later_total", static_cast<double>(gauges.batches_retry_later));
  header(out, "citycard_deny_list_version", "gauge", "Current deny list version served to readers.");
  sample(out, "citycard_deny_list_version", static_cast<double>(gauges.deny_list_version));
  header(out, "citycard_connections_refused_total", "counter",
         "Connections closed at accept, before TLS, by the limit that refused them.");
  out += "citycard_connections_refused_total{reason=\"connections_max\"} " + std::to_string(gauges.refused_connections_max) + "\n";
  out += "citycard_connections_refused_total{reason=\"fd_reserve\"} " + std::to_string(gauges.refused_fd_reserve) + "\n";
  out += "citycard_connections_refused_total{reason=\"pending_total\"} " + std::to_string(gauges.refused_pending_total) + "\n";
  out += "citycard_connections_refused_total{reason=\"pending_per_address\"} " +
         std::to_string(gauges.refused_pending_per_address) + "\n";
  header(out, "citycard_accept_errors_total", "counter", "accept() failures (out of descriptors, ...), each followed by a 50 ms pause.");
  sample(out, "citycard_accept_errors_total", static_cast<double>(gauges.accept_errors));
  header(out, "citycard_fd_limit", "gauge", "RLIMIT_NOFILE soft limit the tap server's descriptor budget is made from.");
  sample(out, "citycard_fd_limit", static_cast<double>(gauges.fd_limit));
  header(out, "citycard_pki_reloads_total", "counter", "CA/CRL reloads put in force in the tap server (SIGHUP, admin, CRL re-signed).");
  sample(out, "citycard_pki_reloads_total", static_cast<double>(gauges.trust_reloads));
  header(out, "citycard_connections_closed_untrusted_total", "counter",
         "Open connections closed because a reloaded CA/CRL no longer trusts their certificate.");
  sample(out, "citycard_connections_closed_untrusted_total", static_cast<double>(gauges.closed_untrusted));
  header(out, "citycard_pki_ca_certificate_days_left", "gauge", "Days until the CA certificate expires (negative: expired).");
  sample(out, "citycard_pki_ca_certificate_days_left", gauges.ca_certificate_days_left);
  header(out, "citycard_pki_engine_certificate_days_left", "gauge", "Days until the engine's certificate expires.");
  sample(out, "citycard_pki_engine_certificate_days_left", gauges.engine_certificate_days_left);
  header(out, "citycard_pki_crl_days_left", "gauge", "Days until the CRL in force passes its nextUpdate (every handshake fails then).");
  sample(out, "citycard_pki_crl_days_left", gauges.crl_days_left);
  return out;
}

}  // namespace citycard::engine
