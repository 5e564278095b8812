#!/usr/bin/env bash
# The engine benchmarks of issue 3 in one run (bench/README.md, section
# "Engine"): the PostgreSQL baseline, then bench_engine (ledger of 1.3M cards,
# in-process taps/s, end-to-end TLS taps/s, p99 at 20k taps/s, latency sweep),
# then the latency-vs-load plot with gnuplot.
#
#   bench/engine/run.sh [BUILD_DIR] [extra bench_engine options...]
#
# Writes bench/results/engine-inprocess.json, engine.json (TLS), engine-postgresql.json,
# bench/results/engine-sweep.dat and bench/results/engine-latency.png.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/load}
shift || true
results=$root/bench/results
mkdir -p "$results"

cmake --build "$build" -j2 --target bench_engine citycard-loadgen >/dev/null

echo "== PostgreSQL baseline (1 transaction per tap, synchronous_commit on)"
"$root/bench/engine/pg_baseline.sh" "${PG_CARDS:-1307000}" "${PG_SECONDS:-20}" > "$results/engine-postgresql.json"

# Two processes, each with a fresh engine on a fresh 1.3M-card ledger: the
# in-process day, then the TLS runs, so the TLS figures do not inherit the
# flushes and compactions of ~2.4M in-process taps.
cd "$root"
echo "== bench_engine: in-process"
"$build/bench/engine/bench_engine" --rules "$root/rules/city.toml" --postgres "$results/engine-postgresql.json" \
  --skip-tls --json "$results/engine-inprocess.json" "$@"
echo "== bench_engine: end-to-end over TLS"
"$build/bench/engine/bench_engine" --rules "$root/rules/city.toml" --postgres "$results/engine-postgresql.json" \
  --inprocess-seconds 0 --json "$results/engine.json" --sweep-data "$results/engine-sweep.dat" "$@"

echo "== plot"
gnuplot <<GNUPLOT
set terminal pngcairo size 900,560 noenhanced
set output "$results/engine-latency.png"
set title "citycard engine over TLS on loopback: decision latency vs offered load"
set xlabel "offered load (taps/s)"
set ylabel "decision latency (ms)"
set logscale y
set grid
set key top left
plot "$results/engine-sweep.dat" using 1:3 with linespoints title "p50", \
     "" using 1:4 with linespoints title "p99", \
     "" using 1:5 with linespoints title "p99.9", \
     10 with lines dashtype 2 title "aim: p99 <= 10 ms at 20k taps/s"
GNUPLOT
echo "plot: $results/engine-latency.png"
