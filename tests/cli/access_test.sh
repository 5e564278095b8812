#!/usr/bin/env bash
# Access lists end to end, as the card office and the doors use them: a real
# citycard-engine on a temp ledger; `citycard access ...` through its admin
# socket (a role, a door group, a meeting); identity taps at a City Hall door
# and a meeting room over mutual TLS (cli_tap_client, the uplink readers
# use); then `citycard door-log` and `citycard attendance` print exactly the
# admitted and refused lines the taps must give, and `citycard report points`
# (read while the engine runs) the points a senior's door tap allotted.
#   access_test.sh CITYCARD CITYCARD_ENGINE CLI_TAP_CLIENT RULES_FILE
set -uo pipefail
citycard=$1 engine=$2 tap_client=$3 rules=$4
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

# The cards, the readers and their certificates, on the stopped ledger.
staff_a=04AC000000000001 staff_b=04AC000000000002 guest=04AC000000000003 named=04AC000000000004
must "$citycard" --db "$db" init
export CITYCARD_CLERK=$dir/pki/clerks/supervisor
for card in $staff_a $staff_b $guest; do must "$citycard" --db "$db" card issue "$card"; done
must "$citycard" --db "$db" card issue "$named" --category senior  # its first tap of the month allots its points
must "$citycard" --db "$db" operator add --id 511 --name "City Hall doors"
must "$citycard" --db "$db" operator add --id 512 --name "City Hall meeting rooms"
must "$citycard" --db "$db" reader add --id 1 --operator 511 --modes identify --location 5100
must "$citycard" --db "$db" reader add --id 2 --operator 512 --modes identify --location 5200
must "$citycard" --db "$db" pki issue-reader --dir "$dir/pki" --reader-id 1
must "$citycard" --db "$db" pki issue-reader --dir "$dir/pki" --reader-id 2

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
port=$(sed -n 's/^tap_port=//p' "$dir/engine.ports")

# The lists, through the running engine: staff open the door 07:00-19:00 every
# day, one named card at any time; the council meets 14:00-16:00 two days ago.
day=$(TZ=Asia/Taipei date -d '2 days ago' +%F)
must "$citycard" --db "$db" access role add staff $staff_a $staff_b
must "$citycard" --db "$db" access group add city-hall --door 511/5100 --admit 'role:staff@daily/07:00-19:00' \
    --admit "card:$named"
must "$citycard" --db "$db" access meeting add council --room 512/5200 --from "${day}T14:00" --to "${day}T16:00" \
    --invite role:staff
"$citycard" --db "$db" access show | grep -q "door group city-hall: doors 511/5100" || fail "access show: no city-hall"

# Taps, in local (Taipei) time of that day.
at() { TZ=Asia/Taipei date -d "$day $1" +%s; }
utc() { date -u -d "@$(at "$1")" +%Y-%m-%dT%H:%M:%SZ; }  # as the records print a time
# identify READER PLACE CARD@HH:MM...: one identity tap each, sequence 1, 2, ...;
# prints the engine's answers, "SEQUENCE approved|refused REASON".
identify() {
  local reader=$1 place=$2 sequence=0; shift 2
  for tap in "$@"; do
    sequence=$((sequence + 1))
    echo "$sequence ${tap%@*} identify ${place%/*} ${place#*/} $(at "${tap#*@}")"
  done | "$tap_client" --pki "$dir/pki" --reader "$reader" --port "$port"
}
door=$(identify 1 511/5100 "$staff_a@08:00" "$guest@09:00" "$staff_b@20:30" "$named@21:00") || fail "door taps: $door"
[ "$door" == $'1 approved none\n2 refused access_not_admitted\n3 refused access_outside_window\n4 approved none' ] ||
  fail "the door's answers: $door"
room=$(identify 2 512/5200 "$staff_a@14:05" "$staff_a@14:20" "$guest@14:10" "$staff_b@16:30") || fail "meeting taps: $room"
[ "$room" == $'1 approved none\n2 approved none\n3 refused access_not_admitted\n4 refused access_outside_window' ] ||
  fail "the room's answers: $room"

# The records, read from a snapshot while the engine runs.
log=$("$citycard" --db "$db" door-log --door 511/5100 --day "$day" --csv | tr -d '\r')
want_log="time,card,outcome,reason,tap
$(utc 08:00),$staff_a,approved,none,tap:1:1
$(utc 09:00),$guest,refused,access_not_admitted,tap:1:2
$(utc 20:30),$staff_b,refused,access_outside_window,tap:1:3
$(utc 21:00),$named,approved,none,tap:1:4"
[ "$log" == "$want_log" ] || fail "door-log:
$log
want:
$want_log"
attendance=$("$citycard" --db "$db" attendance --meeting council --csv | tr -d '\r')
want_attendance="status,card,time,reason
signed_in,$staff_a,$(utc 14:05),
absent,$staff_b,,
refused,$guest,$(utc 14:10),access_not_admitted
refused,$staff_b,$(utc 16:30),access_outside_window"
[ "$attendance" == "$want_attendance" ] || fail "attendance:
$attendance
want:
$want_attendance"
# The points report on a snapshot while the engine runs: the senior's door tap allotted the month's 800 points (rules/city.toml, Taoyuan).
month=${day:0:7}
points=$("$citycard" --db "$db" report points --from "$month" --to "$month" --csv | tr -d '\r')
want_points="month,category,cards,allotted_cards,allotted,used,expired,rewarded,other,left,used_0,used_1_99,used_100_299,used_300_499,used_500_plus,used_all
$month,senior,1,1,800,0,0,0,0,800,1,0,0,0,0,0
(all),(all),1,1,800,0,0,0,0,800,1,0,0,0,0,0"
[ "$points" == "$want_points" ] || fail "report points:
$points
want:
$want_points"
# The table for people says the same.
"$citycard" --db "$db" door-log --door 511/5100 --day "$day" | head -1 | grep -qx "door 511/5100 on $day: 4 taps, 2 refused" ||
  fail "door-log's title line"

stop_engine
if [ "$failures" -ne 0 ]; then echo "$failures failed"; echo "engine log:"; tail -20 "$dir/engine.log"; exit 1; fi
echo "cli access: all checks passed"
