// Histogram counts: quantile bounds, what lies above a bound, the highest
// bucket hit, and differences between two moments (a bench step).
#include <catch2/catch.hpp>

#include <cmath>

#include "metrics.h"

using citycard::engine::Histogram;

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
