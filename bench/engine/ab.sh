#!/usr/bin/env bash
# A/B of two bench_engine binaries at 20k taps/s over TLS, alternating, in one
# invocation (the host is shared and noisy: only same-invocation figures compare).
#
#   bench/engine/ab.sh ROUNDS OLD_BINARY NEW_BINARY [extra bench_engine options...]
#
# Each run: three back-to-back fixed-rate 20k taps/s steps over TLS. Measured
# from /proc over those steps: the process's CPU, and per engine thread its CPU
# and context switches a second (the counts move far less with the host than
# the latencies do). Prints a table and writes bench/results/engine-ab.txt.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 ROUNDS OLD_BINARY NEW_BINARY [bench_engine options...]" >&2; exit 2; }
rounds=$1 old=$2 new=$3
shift 3
root=$(cd "$(dirname "$0")/../.." && pwd)
for binary in "$old" "$new"; do
  [ -x "$binary" ] || { echo "ab.sh: $binary is not an executable" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
result=$root/bench/results/engine-ab.txt
mkdir -p "$root/bench/results"

# thread id, name, CPU ticks, voluntary and involuntary switches of each thread of $1
snapshot() {
  for task in /proc/"$1"/task/*; do
    printf '%s %s %s %s %s\n' "${task##*/}" "$(cat "$task/comm")" "$(awk '{print $14+$15}' "$task/stat")" \
      "$(awk '/^voluntary/{print $2}' "$task/status")" "$(awk '/^nonvoluntary/{print $2}' "$task/status")"
  done 2>/dev/null | sort
}

wait_for() {  # pattern file pid
  until grep -q "$1" "$2" 2>/dev/null; do
    kill -0 "$3" 2>/dev/null || { echo "ab.sh: bench_engine exited early; its output:" >&2; cat "$2" >&2; exit 1; }
    sleep 0.05
  done
}

run_one() {  # label binary round
  local label=$1 binary=$2 round=$3 out=$work/$1-$3.out
  (cd "$root" && exec "$binary" --rules rules/city.toml --inprocess-seconds 0 --tls-seconds 1 --sweep 20000 \
    --step-seconds 8 --latency-repeats 3 --json "$work/$label-$round.json" "${@:4}") > "$out" 2>&1 &
  local pid=$!
  wait_for "readers connected" "$out" "$pid"
  local t0 s0 t1 s1
  t0=$(awk '{print $14+$15}' /proc/$pid/stat); s0=$(date +%s.%N); snapshot $pid > "$work/before"
  wait_for "steps of" "$out" "$pid"
  t1=$(awk '{print $14+$15}' /proc/$pid/stat); s1=$(date +%s.%N); snapshot $pid > "$work/after"
  wait "$pid"
  local seconds cpu
  seconds=$(echo "$s1 - $s0" | bc -l)
  cpu=$(echo "($t1 - $t0) / $(getconf CLK_TCK) / $seconds * 100" | bc -l)
  printf '%-4s round %d: process CPU %5.1f%% over %.1f s; %s\n' "$label" "$round" "$cpu" "$seconds" \
    "$(grep 'steps of' "$out" | sed 's/.*: p99/p99/')"
  # Threads matched by id; those that used at least 1% of a core.
  join "$work/before" "$work/after" |
    awk -v s="$seconds" -v hz="$(getconf CLK_TCK)" '{ cpu = ($7-$3)/hz/s*100; if (cpu >= 1)
      printf "       %-14s CPU %5.1f%%  voluntary %6.0f/s  involuntary %6.0f/s\n", $2, cpu, ($8-$4)/s, ($9-$5)/s }'
}

{
  echo "engine A/B at 20k taps/s over TLS, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
  echo "old: $old"
  echo "new: $new"
  for round in $(seq 1 "$rounds"); do
    run_one old "$old" "$round" "$@"
    run_one new "$new" "$round" "$@"
  done
} | tee "$result"
echo "results: $result"
