#!/usr/bin/env bash
# Builds the libFuzzer harnesses (preset fuzz: clang 15, ASan, UBSan) and runs
# each for SECONDS (default 60), one after the other, each on a copy of its
# seed corpus (tests/fuzz/corpus/<harness>) so the repository's corpus never grows.
# Prints per harness the runs, executions per second, coverage (cov: edges,
# ft: features), corpus size and whether it found a crash; exits non-zero if
# any did, naming the crashing input. docs/testing.md has the rest.
#
#   scripts/fuzz.sh [SECONDS] [HARNESS...]   run every harness, or the named ones
#   scripts/fuzz.sh --seeds                  write tests/fuzz/corpus again from tests/fuzz/make_seeds.cpp
#   scripts/fuzz.sh --list                   the harnesses
#
# Environment: CITYCARD_FUZZ_JOBS (build jobs, default nproc).
# Everything a run leaves is under build/fuzz/runs/<harness>/: log, corpus
# (the grown one, to minimise and merge by hand), and crash-*/leak-*/timeout-*.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scripts/install-deps.sh
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "${CITYCARD_FUZZ_JOBS:-$(nproc)}" >/dev/null
bin="$root/build/fuzz/tests/fuzz"

harnesses=()
for corpus in "$root"/tests/fuzz/corpus/*/; do harnesses+=("$(basename "$corpus")"); done

case "${1:-}" in
  --seeds)
    "$bin/fuzz_make_seeds" "$root" "$root/tests/fuzz/corpus"
    echo "tests/fuzz/corpus written again; 'git status tests/fuzz/corpus' shows what changed"
    exit 0 ;;
  --list)
    printf '%s\n' "${harnesses[@]}"
    exit 0 ;;
esac

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [HARNESS...] | --seeds | --list" >&2
  exit 2
fi
shift || true
if [ $# -gt 0 ]; then harnesses=("$@"); fi

# Stack traces with function names and lines (llvm-15's symbolizer).
export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-/usr/bin/llvm-symbolizer-15}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:external_symbolizer_path=$ASAN_SYMBOLIZER_PATH}"

# The last "cov: N ft: M corp: K" libFuzzer printed, and its stats.
field() { grep -o "$1: [0-9]*" "$2" | tail -1 | awk '{print $2}'; }
stat() { grep "^stat::$1:" "$2" | tail -1 | awk '{print $2}'; }

printf '%-22s %10s %8s %6s %7s %6s  %s\n' harness runs exec/s cov ft corpus result
failed=0
for name in "${harnesses[@]}"; do
  if [ ! -x "$bin/fuzz_$name" ] || [ ! -d "$root/tests/fuzz/corpus/$name" ]; then
    echo "scripts/fuzz.sh: no harness '$name' (scripts/fuzz.sh --list)" >&2
    exit 2
  fi
  run="$root/build/fuzz/runs/$name"
  rm -rf "$run"
  mkdir -p "$run/corpus"
  cp "$root/tests/fuzz/corpus/$name"/* "$run/corpus/"
  dict=()
  if [ -f "$root/tests/fuzz/dict/$name.dict" ]; then dict=(-dict="$root/tests/fuzz/dict/$name.dict"); fi
  status=0
  "$bin/fuzz_$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$run/" "${dict[@]}" "$run/corpus" >"$run/log" 2>&1 || status=$?
  crash=$(find "$run" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | head -1)
  if [ "$status" -ne 0 ] || [ -n "$crash" ]; then
    result="FAILED: ${crash:-exit $status} (log: $run/log)"
    failed=1
  else
    result=ok
  fi
  printf '%-22s %10s %8s %6s %7s %6s  %s\n' "$name" "$(stat number_of_executed_units "$run/log")" \
    "$(stat average_exec_per_sec "$run/log")" "$(field cov "$run/log")" "$(field ft "$run/log")" \
    "$(find "$run/corpus" -type f | wc -l)" "$result"
done

if [ "$failed" -ne 0 ]; then
  echo "scripts/fuzz.sh: a harness failed; its input reproduces it: build/fuzz/tests/fuzz/fuzz_NAME INPUT" >&2
  exit 1
fi
