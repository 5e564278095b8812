#!/usr/bin/env bash
# A perf profile of one engine thread during the in-process closed loop
# (bench/README.md, "The shard's staged taps and the allocator's shared lists").
#
#   bench/engine/profile_thread.sh [--delay S] [--seconds S] BENCH_ENGINE THREAD OUT [bench_engine options...]
#
# Runs `BENCH_ENGINE --skip-tls --proofs off --inprocess-seconds 20
# --latency-rate 0` on the 1.3M-card ledger, waits for pipeline_started and
# DELAY seconds more (default 6: past the loop's first growth), then records
# THREAD (cc-shard-0, cc-commit, cc-prepare, rocksdb:high, ...) for SECONDS
# (default 5) with DWARF call graphs of 64 KiB stacks: with 8 KiB most of the
# commit thread's samples under RocksDB's deep frames lost their callers.
# Writes OUT.data (perf record) and OUT.out (bench_engine's output), and
# prints the thread's top symbols and the run's CPU a tap.
set -euo pipefail
delay=6 seconds=5
while [ $# -gt 0 ]; do
  case $1 in
    --delay) delay=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -ge 3 ] || { echo "usage: $0 [--delay S] [--seconds S] BENCH_ENGINE THREAD OUT [bench_engine options...]" >&2; exit 2; }
binary=$1 thread=$2 out=$3
shift 3
command -v perf > /dev/null || { echo "profile_thread.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
[ -x "$binary" ] || { echo "profile_thread.sh: $binary is not an executable" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
bench_pid=""
cleanup() {
  if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2> /dev/null; then kill "$bench_pid" 2> /dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && exec "$binary" --rules rules/city.toml --skip-tls --proofs off --inprocess-seconds 20 \
  --latency-rate 0 --json "$work/run.json" "$@") > "$out.out" 2>&1 &
bench_pid=$!
for _ in $(seq 1 300); do
  grep -q pipeline_started "$out.out" 2> /dev/null && break
  kill -0 "$bench_pid" 2> /dev/null || { echo "profile_thread.sh: bench_engine ended early; its output:" >&2; cat "$out.out" >&2; exit 1; }
  sleep 1
done
grep -q pipeline_started "$out.out" || { echo "profile_thread.sh: no pipeline_started in 300 s" >&2; exit 1; }
sleep "$delay"
tid=""
for task in /proc/"$bench_pid"/task/*; do
  if [ "$(cat "$task/comm" 2> /dev/null)" = "$thread" ]; then tid=$(basename "$task"); break; fi
done
[ -n "$tid" ] || { echo "profile_thread.sh: no thread named $thread in bench_engine ($bench_pid)" >&2; exit 1; }
perf record -F 999 --call-graph dwarf,65528 -o "$out.data" -t "$tid" -- sleep "$seconds" > /dev/null 2>&1
wait "$bench_pid"
bench_pid=""
echo "$thread ($tid), $seconds s from $delay s after pipeline_started:"
perf report -i "$out.data" --no-children --sort dso,symbol --stdio -g none 2> /dev/null | grep -v '^#' | grep -v '^$' |
  sed 's/  */ /g' | cut -c1-160 | head -25
grep -E "CPU:" "$out.out" || true
echo "call graphs: perf report -i $out.data --no-children --symbol-filter=NAME --stdio -G"
