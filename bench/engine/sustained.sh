#!/usr/bin/env bash
# Sustained load (issue 20): the city's 1.3M-card ledger, one fixed offered
# rate over TLS for MINUTES one-minute steps, and per minute the client's
# p50/p99/p99.9/max beside the engine's own stage p99s, the ledger's write
# volume per tap and the compaction debt (bench/README.md, "Sustained load").
#
#   bench/engine/sustained.sh [BUILD_DIR] [RATE] [MINUTES] [CARDS]
#   defaults: build/release 5000 10 1307000
#
# Writes bench/results/sustained-RATE.{json,dat,png} and the 1 s timeline
# sustained-RATE-timeline.dat. Taps carry no card proofs (the engine is run
# with [card] require_proof = false): deriving 1.3M card keys in SoftHSM2
# first would take longer than the run, and a proof costs the same CMAC in
# every minute. Run it on a quiet machine: the load generator shares the cores.
# The ledger is made once into SUSTAINED_CACHE (default
# /var/tmp/citycard-sustained-CARDS): delete it after a change of the
# ledger's format. SUSTAINED_KEEP=1 keeps the run's directory (engine.log, samples.jsonl);
# `sustained.py seconds --load DIR/load.json --samples DIR/samples.jsonl` lists
# a kept run's slowest seconds with what each stage and the ledger did.
# SUSTAINED_ENGINE_TOML adds to the engine's configuration (A/B of a setting,
# e.g. $'[pipeline]\nbatch_wait_us = 1000'); SUSTAINED_TAG names the results
# (sustained-RATE-TAG.*) so that a variant does not overwrite the baseline.
# SUSTAINED_LOADGEN_REALTIME=N runs the load generator's threads SCHED_FIFO at
# priority N (readers on devices of their own do not wait for the engine
# host's flushes); with SUSTAINED_ENGINE_TOML=$'[pipeline]\nrealtime_priority = N'
# the engine's tap path is real-time too (bench/README.md, "Real-time scheduling").
# SUSTAINED_DISK_NOISE=EVERY:MIB writes MIB MiB over a file beside the ledger
# every EVERY seconds and syncs it (disk_noise.py): the same slow syncs in
# both arms of an A/B, whatever the host's disk does that day.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/bench/engine/city_engine.sh"
build=$(cd "${1:-$root/build/release}" && pwd)
rate=${2:-5000}
minutes=${3:-10}
cards=${4:-1307000}
citycard=$build/bin/citycard
loadgen=$build/bench/engine/citycard-loadgen
engine_bin=$build/bin/citycard-engine
results=$root/bench/results
mkdir -p "$results"
for binary in "$citycard" "$loadgen" "$engine_bin"; do
  [ -x "$binary" ] || { echo "sustained.sh: $binary is missing (cmake --build $build)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/citycard-sustained-XXXXXX")
engine_pid=
load_pid=
sampler_pid=
noise_pid=
cleanup() {
  for pid in "$load_pid" "$sampler_pid" "$noise_pid"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  if [ -n "$engine_pid" ]; then
    kill -TERM "$engine_pid" 2>/dev/null || true
    wait "$engine_pid" 2>/dev/null || true
  fi
  if [ -n "${SUSTAINED_KEEP:-}" ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# A simulated day has ~5.4M taps at 1.3M cards: enough days for the run,
# the first that many days ago (inside the engine's 7 days of retention).
days=$(( (rate * 60 * minutes) / 5000000 + 1 ))
[ "$days" -le 6 ] || { echo "sustained.sh: $rate taps/s for $minutes minutes needs more than 6 days of taps" >&2; exit 2; }
day=$(TZ=Asia/Taipei date -d "$days days ago" +%F)
# The ledger of CARDS cards (1.3M cards through `citycard card import`, ~20 s
# of it the import; ~10 minutes before 2026-12-05): made once in a cache
# directory, copied per run.
cache=${SUSTAINED_CACHE:-/var/tmp/citycard-sustained-$cards}
if [ ! -s "$cache/ready" ]; then
  echo "== ledger: $cards cards, the city's operators and readers (once, into $cache)"
  setup_start=$(date +%s)
  rm -rf "$cache"
  mkdir -p "$cache"
  (
    cd "$cache"
    "$citycard" --db "$cache/ledger" init >/dev/null  # also the PKI's CA and its first supervisor
    export CITYCARD_CLERK=$cache/pki/clerks/supervisor
    add_city_operators "$citycard" "$cache/ledger" "$root/rules/city.toml"
    "$loadgen" --cards "$cards" --roster cards.csv --readers readers.csv --issue-pki "$cache/pki" >/dev/null
    "$citycard" --db "$cache/ledger" card import cards.csv >/dev/null
    "$citycard" --db "$cache/ledger" reader import readers.csv >/dev/null
  )
  echo "$cards cards" > "$cache/ready"
  echo "ledger made in $(( $(date +%s) - setup_start )) s"
fi
cp -a "$cache/ledger" "$cache/pki" "$work/"
# The copy's dirty pages would otherwise be written back in the first
# minute, beside the engine's synced writes: a cost of the bench, not of
# the engine.
sync -f "$work/ledger"
cd "$work"

write_engine_toml "$work" "$root/rules/city.toml" "${SUSTAINED_ENGINE_TOML:-}"
start_engine "$engine_bin"
grep -E 'event=(cards_loaded|pipeline_started)' engine.log || true

sweep=$(printf "$rate,%.0s" $(seq "$minutes"))
sweep=${sweep%,}
echo "== load: $days days from $day at $rate taps/s for $minutes one-minute steps"
stdbuf -oL "$loadgen" --cards "$cards" --day "$day" --days "$days" --pki "$work/pki" --port "$port" --no-proofs \
    --sweep "$sweep" --duration 60 --json load.json --realtime-priority "${SUSTAINED_LOADGEN_REALTIME:-0}" \
    > load.out 2>&1 &
load_pid=$!
python3 "$root/bench/engine/sustained.py" sample --metrics-port "$metrics_port" --engine-pid "$engine_pid" \
    --loadgen-pid "$load_pid" --out samples.jsonl &
sampler_pid=$!
if [ -n "${SUSTAINED_DISK_NOISE:-}" ]; then
  python3 "$root/bench/engine/disk_noise.py" --every "${SUSTAINED_DISK_NOISE%%:*}" --mib "${SUSTAINED_DISK_NOISE##*:}" \
      --file "$work/noise.bin" --log "$work/noise.jsonl" &
  noise_pid=$!
fi
if ! wait "$load_pid"; then
  load_pid=
  cat load.out >&2
  exit 1
fi
load_pid=
wait "$sampler_pid" || true
sampler_pid=
if [ -n "$noise_pid" ]; then
  kill "$noise_pid" 2>/dev/null || true
  wait "$noise_pid" 2>/dev/null || true
  noise_pid=
  python3 -c 'import json,sys; b=[json.loads(l) for l in open(sys.argv[1])]; s=sorted(x["sync_s"] for x in b)
print(f"disk noise: {len(b)} bursts of '"${SUSTAINED_DISK_NOISE##*:}"' MiB, sync p50 {s[len(s)//2]*1000:.0f} ms, max {s[-1]*1000:.0f} ms")' \
      "$work/noise.jsonl" || true
fi
grep -E '^(city day|machine)' load.out || true
steps=$(grep -c 'taps/s decided' load.out || true)
if [ "$steps" -lt "$minutes" ]; then
  echo "sustained.sh: the day ran out of taps after $steps of $minutes minutes (fewer --cards?)" >&2
fi
if grep -q 'event=storage_unavailable\|ledger_write_failed' engine.log; then
  echo "sustained.sh: the engine reported a storage problem:" >&2
  grep 'event=storage' engine.log >&2
fi

out=$results/sustained-$rate${SUSTAINED_TAG:+-$SUSTAINED_TAG}
python3 "$root/bench/engine/sustained.py" report --load load.json --samples samples.jsonl --rate "$rate" \
    --json "$out.json" --dat "$out.dat" --timeline "$out-timeline.dat"

gnuplot <<GNUPLOT
set terminal pngcairo size 1000,800 noenhanced
set output "$out.png"
set multiplot layout 2,1 title "citycard engine, $rate taps/s offered over TLS for $minutes minutes ($cards cards)"
set xlabel "minute"
set ylabel "decision latency (ms)"
set logscale y
set grid
set key outside right
plot "$out.dat" using 1:3 with linespoints title "client p50", \
     "" using 1:4 with linespoints title "client p99", \
     "" using 1:5 with linespoints title "client p99.9", \
     "" using 1:6 with linespoints title "client max", \
     "" using 1:7 with linespoints dashtype 3 lw 2 title "engine decision p99 (its bucket's bound)", \
     10 with lines dashtype 2 title "aim p99 10 ms", \
     50 with lines dashtype 2 title "aim max 50 ms (5k)"
unset logscale y
set xlabel "seconds"
set ylabel "MB"
set y2label "files"
set y2tics
plot "$out-timeline.dat" using 1:2 with lines title "compaction debt (MB)", \
     "" using 1:3 with lines title "memtables (MB)", \
     "" using 1:4 axes x1y2 with lines title "level-0 files (most in a family)"
unset multiplot
GNUPLOT
echo "results: $out.json $out.dat $out.png"
