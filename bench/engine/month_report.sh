#!/usr/bin/env bash
# The usage report over a month of a 1.3M-card city (issue 19; docs/reports.md,
# "Cost"): bench_month_report writes ~20M tap records to a fresh ledger through
# the ledger's record write path (not the TLS engine), then times the real
# `citycard report usage --by mode,hour` (and --by mode) over the month: wall
# time and peak RSS. Prints the figures and the machine; writes
# bench/results/month-report.json.
#
#   bench/engine/month_report.sh [BUILD_DIR] [--taps N] [--cards N] [--dir DIR]
#
# The full size (20M records, ~2 GB of ledger under /tmp) is the default;
# `--taps 2000000` is a quick look.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build/release}
shift || true
results=$root/bench/results
mkdir -p "$results"
cmake --build "$build" -j2 --target bench_month_report citycard >/dev/null
"$build/bench/engine/bench_month_report" --citycard "$build/bin/citycard" --json "$results/month-report.json" "$@"
