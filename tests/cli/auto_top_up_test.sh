#!/usr/bin/env bash
# `citycard card auto-top-up` as the card office uses it: a clerk switches a
# co-branded credit card's auto top-up on and off through a running
# citycard-engine, then on the stopped ledger (checked against the rule set
# the engine installed); bad requests get one clear line and change nothing;
# every switch is on the audit trail.
#   auto_top_up_test.sh CITYCARD CITYCARD_ENGINE RULES_FILE
set -uo pipefail
citycard=$1 engine=$2 rules=$3
dir=$(mktemp -d)
db=$dir/ledger
engine_pid=
stop_engine() {
  [ -n "$engine_pid" ] || return 0
  kill -TERM "$engine_pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$engine_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$engine_pid" 2>/dev/null
  wait "$engine_pid" 2>/dev/null
  engine_pid=
}
trap 'stop_engine; rm -rf "$dir"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
must() { "$@" >/dev/null || { echo "FAIL (set-up): $*"; exit 1; }; }
# expect EXIT_CODE MESSAGE_PART -- ARGS...: one line on stderr naming the problem.
expect() {
  local code=$1 message=$2; shift 3
  local err
  err=$("$citycard" "$@" 2>&1 >/dev/null)
  local got=$?
  if [ "$got" -ne "$code" ] || [[ "$err" != *"$message"* ]] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
    fail "citycard $*: exit $got (want $code), stderr: $err (want one line with '$message')"
  fi
}
# expect_out OUTPUT_PART -- ARGS...: succeeds and prints it.
expect_out() {
  local want=$1; shift 2
  local out
  out=$("$citycard" "$@" 2>&1)
  local got=$?
  [ "$got" -eq 0 ] && [[ "$out" == *"$want"* ]] || fail "citycard $*: exit $got, output: $out (want '$want')"
}

credit=04CC000000000001 plain=04CC000000000002
must "$citycard" --db "$db" init
export CITYCARD_CLERK=$dir/pki/clerks/supervisor
must "$citycard" --db "$db" card issue "$credit" --media co_branded_credit
must "$citycard" --db "$db" card issue "$plain"
must "$citycard" pki issue-clerk --dir "$dir/pki" --name mei --role clerk
must "$citycard" pki issue-clerk --dir "$dir/pki" --name vera --role viewer
must "$citycard" pki issue-clerk --dir "$dir/pki" --name auditor --role auditor
export CITYCARD_CLERK=$dir/pki/clerks/mei

# Shape errors, before anything is asked of engine or ledger.
expect 2 "give --on (with --threshold, --amount and --daily-limit) or --off" -- --db "$db" card auto-top-up "$credit"
expect 2 "give --on" -- --db "$db" card auto-top-up "$credit" --on --off
expect 2 "--on needs --threshold, --amount and --daily-limit" -- --db "$db" card auto-top-up "$credit" --on --amount 500
expect 2 "--off takes no --threshold" -- --db "$db" card auto-top-up "$credit" --off --amount 500

cat > "$dir/engine.toml" <<TOML
data_dir = "$dir"
rules_file = "$rules"
[ledger]
write_buffer_bytes = 4194304
block_cache_bytes = 8388608
[listen]
tap_port = 0
metrics_port = 0
[card]
require_proof = false
token_dir = ""
TOML
"$engine" --config "$dir/engine.toml" 2> "$dir/engine.log" &
engine_pid=$!
for _ in $(seq 200); do [ -s "$dir/engine.ports" ] && break; sleep 0.05; done
[ -s "$dir/engine.ports" ] || { echo "FAIL: the engine did not start:"; cat "$dir/engine.log"; exit 1; }

# Through the running engine.
expect_out "card $credit: auto top-up on threshold 100 amount 500 daily limit 1000 (op:" -- \
    --db "$db" card auto-top-up "$credit" --on --threshold 100 --amount 500 --daily-limit 1000 --reason "bank form 17"
expect 1 "card $plain is a card medium; the rule set allows auto top-up on no such medium" -- \
    --db "$db" card auto-top-up "$plain" --on --threshold 100 --amount 500 --daily-limit 1000
expect 1 "threshold 9800 plus amount 500 is above the wallet maximum of 10000" -- \
    --db "$db" card auto-top-up "$credit" --on --threshold 9800 --amount 500 --daily-limit 1000
expect 1 "clerk vera (viewer) may not block or unblock cards" -- --db "$db" --clerk "$dir/pki/clerks/vera" \
    card auto-top-up "$credit" --off
expect_out "card $credit: auto top-up off (op:" -- --db "$db" card auto-top-up "$credit" --off
stop_engine

# On the stopped ledger: the same rule, against the rule set the engine installed.
expect_out "card $credit: auto top-up on threshold 200 amount 300 daily limit 900 (op:" -- \
    --db "$db" card auto-top-up "$credit" --on --threshold 200 --amount 300 --daily-limit 900
expect 1 "the daily limit 200 is less than one auto top-up of 300" -- \
    --db "$db" card auto-top-up "$credit" --on --threshold 200 --amount 300 --daily-limit 200
expect 1 "card $plain is a card medium" -- --db "$db" card auto-top-up "$plain" --on --threshold 1 --amount 1 --daily-limit 1
expect 1 "no card 04CCFFFF" -- --db "$db" card auto-top-up 04CCFFFF --off
expect_out "card $credit: auto top-up off (op:" -- --db "$db" card auto-top-up "$credit" --off --ref op:5:1
expect_out "already done: card $credit: auto top-up off (op:5:1)" -- --db "$db" card auto-top-up "$credit" --off --ref op:5:1

# The trail: every switch, with what it was before; the refusals too.
trail=$("$citycard" --db "$db" --clerk "$dir/pki/clerks/auditor" audit)
for want in "auto top-up on threshold 100 amount 500 daily limit 1000 (was off)" \
            "auto top-up off (was on threshold 100 amount 500 daily limit 1000)" \
            "auto top-up on threshold 200 amount 300 daily limit 900 (was off)" \
            "auto top-up off (was on threshold 200 amount 300 daily limit 900)" \
            "bank form 17"; do
  [[ "$trail" == *"$want"* ]] || fail "the audit trail lacks '$want': $trail"
done
[ "$(printf '%s\n' "$trail" | grep -c 'auto top-up.*refused')" -ge 4 ] || fail "the refusals are not all on the trail: $trail"
"$citycard" --db "$db" verify >/dev/null || fail "the ledger does not verify"

[ "$failures" -eq 0 ] && echo "auto top-up CLI: all checks passed"
exit $((failures > 0))
