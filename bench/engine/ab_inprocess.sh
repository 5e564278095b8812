#!/usr/bin/env bash
# A/B of bench_engine builds in process (no TLS): the durable closed loop on
# the 1.3M-card ledger, the builds taking turns within each round of one
# invocation (the host is shared and noisy: only same-invocation figures compare).
#
#   bench/engine/ab_inprocess.sh [--tag T] [--seconds S] ROUNDS BASELINE OTHER...
#
# Each run: `bench_engine --skip-tls --proofs off --inprocess-seconds S
# --latency-rate 0` (default 30 s), a fresh ledger and process each time.
# Per run: taps/s and the process's CPU a decided tap (bench_engine's "CPU:"
# line, from /proc/self/task/*/stat; far steadier than taps/s on a shared
# host). Then per build the means and the ratios against the baseline (the
# first binary). Writes bench/results/engine-ab-inprocess[-T].txt.
set -euo pipefail
tag="" seconds=30
while [ $# -gt 0 ]; do
  case $1 in
    --tag) tag=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 3 ] || { echo "usage: $0 [--tag T] [--seconds S] ROUNDS BASELINE OTHER..." >&2; exit 2; }
rounds=$1
shift
binaries=("$@")
root=$(cd "$(dirname "$0")/../.." && pwd)
for binary in "${binaries[@]}"; do
  [ -x "$binary" ] || { echo "ab_inprocess.sh: $binary is not an executable" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
result=$root/bench/results/engine-ab-inprocess${tag:+-$tag}.txt
mkdir -p "$root/bench/results"

run_one() {  # index binary round
  local out=$work/$1-$3.out
  if ! (cd "$root" && exec "$2" --rules rules/city.toml --skip-tls --proofs off --inprocess-seconds "$seconds" \
        --latency-rate 0 --json "$work/$1-$3.json") > "$out" 2>"$work/$1-$3.err"; then
    echo "ab_inprocess.sh: $2 failed; its output:" >&2
    cat "$out" "$work/$1-$3.err" >&2
    exit 1
  fi
  local rate cpu
  rate=$(sed -n 's/.*closed loop: \([0-9]*\) taps\/s.*/\1/p' "$out")
  cpu=$(sed -n 's/^  CPU: \([0-9.]*\) us a tap.*/\1/p' "$out")
  [ -n "$rate" ] || { echo "ab_inprocess.sh: no closed-loop figure in $out" >&2; cat "$out" >&2; exit 1; }
  echo "$1 $rate ${cpu:-0}" >> "$work/runs"
  printf 'build %d round %d: %7d taps/s  %s\n' "$1" "$3" "$rate" \
    "$(grep -m1 '^  CPU:' "$out" | sed 's/^  CPU: //' || echo 'CPU a tap: not printed by this build')"
}

{
  echo "engine A/B in process, durable closed loop, ${seconds} s a run, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), transparent huge pages $(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
  for index in "${!binaries[@]}"; do echo "build $index: ${binaries[$index]}"; done
  for round in $(seq 1 "$rounds"); do
    for index in "${!binaries[@]}"; do run_one "$index" "${binaries[$index]}" "$round"; done
  done
  awk '{ rate[$1] += $2; cpu[$1] += $3; n[$1]++ }
       END { for (b = 0; b in n; b++) {
               printf "build %d: mean %7.0f taps/s, %.2f us CPU a tap", b, rate[b] / n[b], cpu[b] / n[b];
               if (b > 0) printf "; against build 0: taps/s x%.3f, CPU a tap x%.3f", (rate[b] / n[b]) / (rate[0] / n[0]),
                                 (cpu[0] > 0 ? (cpu[b] / n[b]) / (cpu[0] / n[0]) : 0);
               printf "\n" } }' "$work/runs"
} | tee "$result"
echo "results: $result"
