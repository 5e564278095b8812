#!/usr/bin/env bash
# The business-day close while the engine serves taps over TLS (issue 16):
# a ledger holding a day of ~1M taps, then one citycard-loadgen invocation of
# two steps at the same offered rate on the next day, each STEP_S seconds:
# step 1 without a close (the baseline), step 2 with `citycard settle close`
# of the full day started as step 2 starts (through the engine's admin
# socket). Prints the close's duration and each step's p50/p99, and writes
# bench/results/close-under-load.json.
#
#   bench/engine/close_under_load.sh [BUILD_DIR] [CARDS] [FILL_TAPS] [RATE] [STEP_S]
#   defaults: build/release 300000 1000000 20000 6 (a step about as long as the close)
#
# Taps are sent without card proofs (the engine is configured not to require
# them): proofs cost the same with and without a close, and deriving 300k
# card keys in SoftHSM2 first would double the run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
source "$root/bench/engine/city_engine.sh"
build=$(cd "${1:-$root/build/release}" && pwd)
cards=${2:-300000}
fill_taps=${3:-1000000}
rate=${4:-20000}
step_s=${5:-6}
citycard=$build/bin/citycard
loadgen=$build/bench/engine/citycard-loadgen
engine_bin=$build/bin/citycard-engine
results=$root/bench/results
mkdir -p "$results"

work=$(mktemp -d /tmp/citycard-close-bench-XXXXXX)
engine_pid=
load_pid=
cleanup() {
  [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null || true
  if [ -n "$engine_pid" ]; then
    kill -TERM "$engine_pid" 2>/dev/null || true
    wait "$engine_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Taipei days in the engine's past, inside its offline retention (7 days).
day=$(TZ=Asia/Taipei date -d '3 days ago' +%F)
load_day=$(TZ=Asia/Taipei date -d '2 days ago' +%F)
db=$work/ledger
cd "$work"

echo "== ledger: $cards cards, the city's operators and readers (fill readers from 1, load readers from 100001)"
"$citycard" --db "$db" init >/dev/null  # also the PKI's CA and its first supervisor
export CITYCARD_CLERK=$work/pki/clerks/supervisor
"$citycard" pki issue-clerk --dir "$work/pki" --name sam --role settlement >/dev/null  # closes the day
settlement_clerk=$work/pki/clerks/sam
add_city_operators "$citycard" "$db" "$root/rules/city.toml"
"$loadgen" --cards "$cards" --roster cards.csv --readers readers-fill.csv --issue-pki "$work/pki" >/dev/null
"$loadgen" --cards "$cards" --readers readers-load.csv --reader-id-first 100001 --issue-pki "$work/pki" >/dev/null
"$citycard" --db "$db" card import cards.csv >/dev/null
"$citycard" --db "$db" reader import readers-fill.csv >/dev/null
"$citycard" --db "$db" reader import readers-load.csv >/dev/null

write_engine_toml "$work" "$root/rules/city.toml"
start_engine "$engine_bin"

echo "== fill: $fill_taps taps of $day, closed loop"
"$loadgen" --cards "$cards" --day "$day" --pki "$work/pki" --port "$port" --no-proofs --rate 0 \
    --taps "$fill_taps" --duration 600 | grep -E '^(city day|machine|closed loop)' || true
"$citycard" --db "$db" --clerk "$settlement_clerk" settle --keys settlement-keys keygen >/dev/null

echo "== load: $load_day at $rate taps/s, two steps of $step_s s; the close of $day starts with step 2"
stdbuf -oL "$loadgen" --cards "$cards" --day "$load_day" --reader-id-first 100001 --pki "$work/pki" --port "$port" --no-proofs \
    --sweep "$rate,$rate" --duration "$step_s" --json load.json > load.out 2>&1 &
load_pid=$!
# Step 1 ends when its summary is printed; the loadgen goes straight on with step 2.
steps_done() { grep -c 'taps/s decided' load.out 2>/dev/null || true; }
until [ "$(steps_done)" -ge 1 ]; do
  kill -0 "$load_pid" 2>/dev/null || { cat load.out >&2; exit 1; }
  sleep 0.05
done
close_start=$(date +%s.%N)
"$citycard" --db "$db" --clerk "$settlement_clerk" --json settle --out "$work/settlement" --keys settlement-keys close --day "$day" > close.json
close_end=$(date +%s.%N)
wait "$load_pid"
load_pid=
cat load.out
close_s=$(echo "$close_end - $close_start" | bc)
lines=$(python3 -c 'import json; print(json.load(open("close.json"))["total"]["lines"])')
scanned=$(python3 -c 'import json; print(json.load(open("close.json"))["transfers_scanned"])')
echo "close of $day: $close_s s (through the engine; $scanned transfers scanned, $lines lines); step 2 lasted $step_s s"
"$citycard" --db "$db" --clerk "$settlement_clerk" settle --out "$work/settlement" --keys settlement-keys verify --day "$day" | tail -n 1

python3 - "$results/close-under-load.json" "$close_s" "$scanned" "$lines" "$step_s" "$rate" <<'PY'
import json, sys
out, close_s, scanned, lines, step_s, rate = sys.argv[1:]
load = json.load(open("load.json"))
steps = load["steps"]
json.dump({"machine": load["machine"], "cards": load["cards"], "offered_taps_per_second": float(rate),
           "step_seconds": float(step_s), "close_seconds": float(close_s), "close_transfers_scanned": int(scanned),
           "close_lines": int(lines), "without_close": steps[0], "with_close": steps[1]},
          open(out, "w"), indent=2)
print("results:", out)
PY
