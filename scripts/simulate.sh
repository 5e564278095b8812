#!/usr/bin/env bash
# Runs the deterministic simulator (tests/sim/, docs/testing.md "Simulation")
# over many seeds, two processes at a time on halves of the range, and reports
# seeds run, failures (each with its seed and step), faults injected of each
# kind, invariant checks, wall time and the machine.
#
#   scripts/simulate.sh [--seeds N] [--from S] [--steps N] [--jobs J]
#
# Defaults: 1000 seeds from 1, 400 steps each, J = nproc. A failing seed is
# replayed exactly with: build/release/tests/sim/citycard-sim --seed S --steps N --keep
# Exit status non-zero when any seed failed.
set -euo pipefail
cd "$(dirname "$0")/.."

seeds=1000 from=1 steps=400 jobs=$(nproc)
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --from) from=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    *) echo "usage: scripts/simulate.sh [--seeds N] [--from S] [--steps N] [--jobs J]" >&2; exit 2 ;;
  esac
done

# ccache where it is installed (it is not one of install-deps.sh's packages).
if [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && command -v ccache >/dev/null; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache
fi
cmake --preset release >/dev/null
cmake --build build/release --target citycard-sim -j "$jobs" >/dev/null
sim=build/release/tests/sim/citycard-sim
out=$(mktemp -d /tmp/citycard-simulate-XXXXXX)

started=$(date +%s.%N)
per=$(( (seeds + jobs - 1) / jobs ))
pids=()
for ((j = 0; j < jobs; j++)); do
  first=$(( from + j * per ))
  count=$(( seeds - j * per )); [ "$count" -gt "$per" ] && count=$per
  [ "$count" -le 0 ] && break
  "$sim" --seed "$first" --seeds "$count" --steps "$steps" > "$out/part-$j.txt" &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
ended=$(date +%s.%N)

grep -h -v '^summary' "$out"/part-*.txt | grep -v ' held ' || true
grep -h '^summary' "$out"/part-*.txt | awk -v wall="$(echo "$ended - $started" | bc)" '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] != "seconds") sum[kv[1]] += kv[2]; order[i] = kv[1] } n = NF }
  END {
    line = "seeds=" sum["seeds"] " failed=" sum["failed"] " steps=" sum["steps"];
    print line;
    print "invariant checks=" sum["invariant_checks"] " taps decided=" sum["taps_decided"] " days closed=" sum["days_closed"];
    print "faults: crashes=" sum["crashes"] " fail_stops=" sum["fail_stops"] " power_losses=" sum["power_losses"] \
          " torn_writes=" sum["torn_writes"] " syncs_failed=" sum["syncs_failed"] " disk_full=" sum["disk_full"] \
          " slow_syncs=" sum["slow_syncs"] " clean_restarts=" sum["clean_restarts"] " clock_jumps=" sum["clock_jumps"] \
          " journals_damaged=" sum["journals_damaged"] " answers_lost=" sum["answers_lost"] " resends=" sum["resends"];
    printf "wall time %.1f s\n", wall;
  }'
echo "machine: $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/Model name: *//'), load $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$out"
exit $status
