// Histogram counts: quantile bounds, what lies above a bound, the highest
// bucket hit, and differences between two moments (a bench step).
#include <catch2/catch.hpp>

#include <cmath>

#include "metrics.h"

using citycard::engine::Gauges;
using citycard::engine::Histogram;
using citycard::engine::Metrics;

TEST_CASE("histogram counts answer quantiles, counts above a bound and the highest bucket") {
  Histogram histogram({0.001, 0.01, 0.1});
  for (int i = 0; i < 96; ++i) histogram.observe(0.0005);
  histogram.observe(0.005);
  histogram.observe(0.02);
  histogram.observe(0.05);
  histogram.observe(0.01);  // on a bound: in that bucket, not above it
  const auto counts = histogram.counts();
  CHECK(counts.count == 100);
  CHECK(counts.quantile_bound(0.5) == 0.001);
  CHECK(counts.quantile_bound(0.98) == 0.01);
  CHECK(counts.quantile_bound(0.99) == 0.1);
  CHECK(counts.count_above(0.01) == 2);
  CHECK(counts.count_above(0.001) == 4);
  CHECK(counts.count_above(0.1) == 0);
  CHECK(counts.max_bound() == 0.1);

  histogram.observe(3.0);
  CHECK(std::isinf(histogram.counts().max_bound()));
  CHECK(histogram.counts().count_above(0.1) == 1);
}

TEST_CASE("histogram differences cover only the observations between two moments") {
  Histogram histogram({0.001, 0.01, 0.1});
  histogram.observe(0.05);
  const auto before = histogram.counts();
  histogram.observe(0.0005);
  histogram.observe(0.0007);
  const auto step = histogram.counts() - before;
  CHECK(step.count == 2);
  CHECK(step.count_above(0.001) == 0);
  CHECK(step.max_bound() == 0.001);
  CHECK((Histogram({0.001}).counts().max_bound()) == 0);
}

TEST_CASE("the metrics show the ledger's storage activity, its slow writes by cause and each family's table files") {
  Metrics metrics;
  Gauges gauges;
  gauges.storage.synced_writes = 7;
  gauges.storage.log_bytes_written = 2100;
  gauges.storage.write_micros = 3'500'000;
  gauges.storage.log_sync_micros = 2'500'000;
  gauges.storage.slow_writes_in_sync = 4;
  gauges.storage.slow_writes_elsewhere = 1;
  gauges.storage.write_slowdowns = 2;
  gauges.storage.pending_compaction_bytes = 1 << 20;
  gauges.storage.families = {{"history", 10, 200, 90}, {"card_states", 3, 300, 120}};
  const std::string text = metrics.render(gauges);
  CHECK(text.find("citycard_ledger_synced_writes_total 7\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_log_bytes_total 2100\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_write_seconds_total 3.5\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_log_sync_seconds_total 2.5\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_slow_writes_total{in=\"log_sync\"} 4\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_slow_writes_total{in=\"elsewhere\"} 1\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_write_stalls_total{kind=\"slowdown\"} 2\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_pending_compaction_bytes 1048576\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_family_entries{family=\"history\"} 10\n") != std::string::npos);
  CHECK(text.find("citycard_ledger_family_table_bytes{family=\"card_states\"} 120\n") != std::string::npos);
  CHECK(text.find("# TYPE citycard_ledger_family_raw_bytes gauge\n") != std::string::npos);
}

TEST_CASE("the metrics show whether the heap is on huge pages and how its regions came") {
  Metrics metrics;
  Gauges gauges;
  CHECK(metrics.render(gauges).find("citycard_heap_huge_pages 0\n") != std::string::npos);
  gauges.heap_huge_pages = true;
  gauges.heap_regions_ready = 12;
  gauges.heap_regions_in_place = 3;
  gauges.heap_regions_large = 2;
  gauges.heap_regions_waiting = 5;
  const std::string text = metrics.render(gauges);
  CHECK(text.find("citycard_heap_huge_pages 1\n") != std::string::npos);
  CHECK(text.find("citycard_heap_regions_total{kind=\"ready\"} 12\n") != std::string::npos);
  CHECK(text.find("citycard_heap_regions_total{kind=\"in_place\"} 3\n") != std::string::npos);
  CHECK(text.find("citycard_heap_regions_total{kind=\"large\"} 2\n") != std::string::npos);
  CHECK(text.find("# TYPE citycard_heap_regions_total counter\n") != std::string::npos);
  CHECK(text.find("citycard_heap_regions_waiting 5\n") != std::string::npos);
  CHECK(text.find("# TYPE citycard_heap_regions_waiting gauge\n") != std::string::npos);
}
