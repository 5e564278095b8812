#!/usr/bin/env bash
# The CLI on bad input: one clear line on stderr naming the problem, a
# non-zero exit, and nothing changed in the ledger.
#   bad_input_test.sh PATH_TO_CITYCARD
set -uo pipefail
citycard=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
db=$dir/ledger
failures=0

# expect EXIT_CODE MESSAGE_PART -- ARGS...: runs citycard, checks exit code and stderr.
expect() {
  local code=$1 message=$2; shift 3
  local err
  err=$("$citycard" "$@" 2>&1 >/dev/null)
  local got=$?
  if [ "$got" -ne "$code" ] || [[ "$err" != *"$message"* ]] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
    echo "FAIL: citycard $*: exit $got (want $code), stderr: $err (want one line with '$message')"
    failures=$((failures + 1))
  fi
}

# expect_lines EXIT_CODE MESSAGE_PART LINES -- ARGS...: as expect, for a
# command that names several bad lines and ends with a summary.
expect_lines() {
  local code=$1 message=$2 lines=$3; shift 4
  local err
  err=$("$citycard" "$@" 2>&1 >/dev/null)
  local got=$?
  if [ "$got" -ne "$code" ] || [[ "$err" != *"$message"* ]] || [ "$(printf '%s\n' "$err" | wc -l)" -ne "$lines" ]; then
    echo "FAIL: citycard $*: exit $got (want $code), stderr: $err (want $lines lines with '$message')"
    failures=$((failures + 1))
  fi
}

# Card-office commands need a clerk, and one whose role allows them.
expect 2 "this command needs a clerk" -- --db "$db" balance 04A1B2C3
"$citycard" pki init --dir "$dir/pki" >/dev/null
"$citycard" pki issue-clerk --dir "$dir/pki" --name vera --role viewer >/dev/null
export CITYCARD_CLERK=$dir/pki/clerks/vera
expect 1 "no ledger at $db" -- --db "$db" balance 04A1B2C3
[ ! -e "$db" ] || { echo "FAIL: a read made a ledger"; failures=$((failures + 1)); }
expect 2 "unknown role 'boss'" -- pki issue-clerk --dir "$dir/pki" --name bob --role boss
expect 2 "not a clerk name" -- pki issue-clerk --dir "$dir/pki" --name "Bob Smith" --role clerk
expect 1 "not a clerk name" -- pki revoke-clerk --dir "$dir/pki" --name ../ca

"$citycard" --db "$db" init >/dev/null  # makes the first supervisor in $dir/pki
expect 1 "clerk vera (viewer) may not top up" -- --db "$db" topup 04A1B2C3 5
expect 1 "may not read the audit trail" -- --db "$db" audit
export CITYCARD_CLERK=$dir/pki/clerks/supervisor
"$citycard" --db "$db" operator add --id 101 --name "Capital Bus" >/dev/null
"$citycard" --db "$db" card issue 04A1B2C3 >/dev/null
"$citycard" --db "$db" topup 04A1B2C3 100 --ref op:1:1 >/dev/null
# What bad input must not change: money, cards, accounts. The audit trail
# does grow: every request the rules refuse is recorded (outcome refused).
"$citycard" pki issue-clerk --dir "$dir/pki" --name auditor --role auditor >/dev/null
# The viewer's top-up above was refused by the role table on the stopped
# ledger, and recorded as the engine records it.
trail=$("$citycard" --db "$db" --clerk "$dir/pki/clerks/auditor" audit)
[[ "$trail" == *"vera (viewer) top-up card 04A1B2C3 5 TWD refused: clerk vera (viewer) may not top up"* ]] ||
  { echo "FAIL: the refused top-up is not in the trail: $trail"; failures=$((failures + 1)); }
money_of() { "$citycard" --db "$db" --json verify | sed -E 's/"(audit_entries|idempotency_keys)":[0-9]+,//g'; }
before=$(money_of)
refused_before=$("$citycard" --db "$db" --clerk "$dir/pki/clerks/auditor" audit --json 2>/dev/null | grep -o '"outcome":"refused"' | wc -l)

expect 1 "unknown card 0499" -- --db "$db" balance 0499
expect 2 "not a card id" -- --db "$db" balance XYZ
expect 2 "top-up amount must be positive" -- --db "$db" topup 04A1B2C3 -5
expect 2 "not a reference" -- --db "$db" topup 04A1B2C3 5 --ref banana
expect 2 "--limit must be 1..1000" -- --db "$db" history 04A1B2C3 --limit 0
expect 2 "unknown rider category" -- --db "$db" card issue 04FFFFFF --category wizard
expect 1 "already issued" -- --db "$db" card issue 04A1B2C3
expect 1 "cannot read" -- --db "$db" card import "$dir/missing.csv"
printf 'ref,debit,credit,amount,code\nop:1:2,topup_float,card:04A1B2C3,ten,top_up\n' > "$dir/bad.csv"
expect 2 "bad.csv:2: amount 'ten' is not a positive whole number" -- --db "$db" transfers import "$dir/bad.csv"
printf 'ref,debit,credit,amount,code\nop:1:3,nowhere,card:04A1B2C3,10,top_up\n' > "$dir/bad2.csv"
expect 1 "no account 'nowhere'" -- --db "$db" transfers import "$dir/bad2.csv"

printf 'card,category,media\n04B00001,general,card\n04B00002,wizard,card\n04B00003,general\n' > "$dir/cards.csv"
expect_lines 2 "cards.csv:3: " 3 -- --db "$db" card import "$dir/cards.csv"
expect 1 "reference op:1:1 was used for another request; this top-up of card 04A1B2C3 for 1" -- --db "$db" topup 04A1B2C3 1 --ref op:1:1
# Eligibility: every bad line named, an unknown card named by line, nothing changed.
printf 'card,category,from,until\n04A1B2C3,senior,2026-12-15,\n04A1B2C3,student,,\n04A1B2C3,senior,2026-12-15,2026-12-01\n' > "$dir/elig.csv"
expect_lines 2 "elig.csv:4: until 2026-12-01 is before from 2026-12-15" 3 -- --db "$db" card eligibility "$dir/elig.csv"
printf 'card,category,from,until\n04A1B2C3,senior,2026-12-15,\n04B0FFFF,student,,2027-07-31\n' > "$dir/elig2.csv"
expect_lines 2 "line 3: card 04B0FFFF is not issued" 2 -- --db "$db" card eligibility "$dir/elig2.csv"
"$citycard" --db "$db" balance 04A1B2C3 | grep -q "^card 04A1B2C3  general " ||
  { echo "FAIL: a refused eligibility file changed the card's category"; failures=$((failures + 1)); }

# Adjustments: a reason, a tap that exists and is the card's, an amount the wallet allows.
expect 2 "--reason is required" -- --db "$db" card adjust 04A1B2C3 5
expect 2 "--tap 'banana' is not a tap" -- --db "$db" card adjust 04A1B2C3 5 --reason x --tap banana
expect 1 "an adjustment amount must not be 0" -- --db "$db" card adjust 04A1B2C3 0 --reason x
expect 1 "an adjustment needs a reason" -- --db "$db" card adjust 04A1B2C3 5 --reason ""
expect 1 "an adjustment amount must be within" -- --db "$db" card adjust 04A1B2C3 -9223372036854775808 --reason x
expect 1 "card 04A1B2C3 holds 100 TWD; cannot debit 500" -- --db "$db" card adjust 04A1B2C3 -500 --reason x
expect 1 "no card 0499" -- --db "$db" card adjust 0499 5 --reason x
expect 1 "no tap tap:99:1 in the ledger" -- --db "$db" card adjust 04A1B2C3 5 --reason x --tap 99:1
expect 1 "no refund or adjustment op:9:9 waits for approval" -- --db "$db" approvals approve op:9:9
# Usage reports: a bad range or axis is named, and no chart is written.
expect 2 "--from 2026-02-30 is not a date YYYY-MM-DD" -- --db "$db" report usage --from 2026-02-30 --to 2026-03-02
expect 2 "--from 2026-03-05 is after --to 2026-03-01" -- --db "$db" report usage --from 2026-03-05 --to 2026-03-01
expect 2 "is 93 days; a report covers at most 92" -- --db "$db" report usage --from 2026-01-01 --to 2026-04-03
expect 2 "unknown axis 'route'" -- --db "$db" report usage --from 2026-03-01 --to 2026-03-02 --by route \
    --chart "$dir/usage.html"
expect 2 "--json and --csv: choose one" -- --db "$db" report usage --from 2026-03-01 --to 2026-03-01 --json --csv
expect 2 "name it FILE.html" -- --db "$db" report usage --from 2026-03-01 --to 2026-03-01 --chart "$dir/usage.png"
[ ! -e "$dir/usage.html" ] || { echo "FAIL: a refused report wrote its chart"; failures=$((failures + 1)); }
# A range without taps: a header and a zero total, and the chart in place.
csv=$("$citycard" --db "$db" report usage --from 2026-03-01 --to 2026-03-02 --by mode,hour --csv --chart "$dir/usage.html")
[ "$csv" == $'mode,hour,taps,approved,refused,identity,given_offline,riders,fare_minor,subsidy_minor,points_redeemed\r\n(all),(all),0,0,0,0,0,0,0,0,0\r' ] ||
  { echo "FAIL: the empty report's CSV: $csv"; failures=$((failures + 1)); }
grep -q '<svg ' "$dir/usage.html" || { echo "FAIL: no chart in $dir/usage.html"; failures=$((failures + 1)); }
# The debt report: one format at a time; no card is in debt here.
expect 2 "--json and --csv: choose one" -- --db "$db" report debt --json --csv
debt=$("$citycard" --db "$db" report debt --csv)
[ "$debt" == $'card,category,balance_minor,since,days\r' ] || { echo "FAIL: the debt report: $debt"; failures=$((failures + 1)); }
# The programme report: the same day range as the usage report's, checked
# before the ledger is opened; one format at a time; nothing paid here yet.
expect 2 "--from 2026-02-30 is not a date YYYY-MM-DD" -- --db "$db" report programmes --from 2026-02-30 --to 2026-03-02
expect 2 "--to 2026-3-2 is not a date YYYY-MM-DD" -- --db "$db" report programmes --from 2026-03-01 --to 2026-3-2
expect 2 "--from 2026-03-05 is after --to 2026-03-01" -- --db "$db" report programmes --from 2026-03-05 --to 2026-03-01
expect 2 "is 93 days; a report covers at most 92" -- --db "$db" report programmes --from 2026-01-01 --to 2026-04-03
expect 2 "--json and --csv: choose one" -- --db "$db" report programmes --from 2026-03-01 --to 2026-03-01 --json --csv
expect 1 "no ledger at $dir/none" -- --db "$dir/none" report programmes --from 2026-03-01 --to 2026-03-01
programmes=$("$citycard" --db "$db" report programmes --from 2026-03-01 --to 2026-03-02 --csv)
[ "$programmes" == $'day,operator,operator_name,programme,amount_minor\r' ] ||
  { echo "FAIL: the empty programme report's CSV: $programmes"; failures=$((failures + 1)); }
# The points report: months YYYY-MM, at most 12, one format at a time, no chart on a refusal.
expect 2 "--from 2026-3 is not a month YYYY-MM" -- --db "$db" report points --from 2026-3 --to 2026-04
expect 2 "--to 2026-13 is not a month YYYY-MM" -- --db "$db" report points --from 2026-03 --to 2026-13
expect 2 "--from 2026-03-01 is not a month YYYY-MM" -- --db "$db" report points --from 2026-03-01 --to 2026-04
expect 2 "--from 2026-05 is after --to 2026-04" -- --db "$db" report points --from 2026-05 --to 2026-04
expect 2 "2025-01 to 2026-01 is 13 months; a points report covers at most 12" -- --db "$db" report points --from 2025-01 --to 2026-01
expect 2 "--json and --csv: choose one" -- --db "$db" report points --from 2026-03 --to 2026-03 --json --csv
expect 2 "name it FILE.html" -- --db "$db" report points --from 2026-03 --to 2026-03 --chart "$dir/points.png"
expect 2 "--from 2026-3 is not a month YYYY-MM" -- --db "$db" report points --from 2026-3 --to 2026-03 --chart "$dir/points.html"
[ ! -e "$dir/points.html" ] && [ ! -e "$dir/points.png" ] ||
  { echo "FAIL: a refused points report wrote its chart"; failures=$((failures + 1)); }
points=$("$citycard" --db "$db" report points --from 2026-03 --to 2026-04 --csv)
[ "$points" == $'month,category,cards,allotted_cards,allotted,used,expired,rewarded,other,left,used_0,used_1_99,used_100_299,used_300_499,used_500_plus,used_all\r\n(all),(all),0,0,0,0,0,0,0,0,0,0,0,0,0,0\r' ] ||
  { echo "FAIL: the empty points report's CSV: $points"; failures=$((failures + 1)); }
refused_now=8  # the reference reused, six adjustments, one decision (the report errors never reach the rules)

# Retrying a top-up with the same reference moves nothing.
"$citycard" --db "$db" topup 04A1B2C3 100 --ref op:1:1 >/dev/null
after=$(money_of)
if [ "$before" != "$after" ]; then
  echo "FAIL: bad input changed the ledger: $before -> $after"
  failures=$((failures + 1))
fi
refused_after=$("$citycard" --db "$db" --clerk "$dir/pki/clerks/auditor" audit --json | grep -o '"outcome":"refused"' | wc -l)
if [ "$refused_after" -ne $((refused_before + refused_now)) ]; then
  echo "FAIL: $((refused_after - refused_before)) refusals in the audit trail, want $refused_now"
  failures=$((failures + 1))
fi
"$citycard" --db "$db" verify >/dev/null || { echo "FAIL: verify after the refusals"; failures=$((failures + 1)); }
balance=$("$citycard" --db "$db" --json balance 04A1B2C3)
[[ "$balance" == *'"wallet_minor":100'* ]] || { echo "FAIL: balance changed: $balance"; failures=$((failures + 1)); }
# Bonus points: their own line and field (a card that never earned any: 0, no expiry).
[[ "$balance" == *'"bonus_points":0'* && "$balance" != *'bonus_points_expire_after'* ]] ||
  { echo "FAIL: no bonus points in the balance: $balance"; failures=$((failures + 1)); }
"$citycard" --db "$db" balance 04A1B2C3 | grep -Eq "^  bonus +0$" ||
  { echo "FAIL: no bonus line in the balance"; failures=$((failures + 1)); }

# Good input after the bad: more than one request's worth (10 000 cards a
# chunk) on a stopped ledger, opened once for every chunk: all issued, a
# rerun finds them all, the ledger verifies.
awk 'BEGIN { print "card,category,media"; for (i = 1; i <= 25000; i++) printf "05%08X,general,card\n", i }' > "$dir/many.csv"
out=$("$citycard" --db "$db" card import "$dir/many.csv" 2>/dev/null)
[[ "$out" == *"issued 25000 cards (0 already issued)"* ]] || { echo "FAIL: a 25 000-card import said: $out"; failures=$((failures + 1)); }
out=$("$citycard" --db "$db" card import "$dir/many.csv" 2>/dev/null)
[[ "$out" == *"issued 0 cards (25000 already issued)"* ]] || { echo "FAIL: its rerun said: $out"; failures=$((failures + 1)); }
"$citycard" --db "$db" balance 0500006000 | grep -q "^card 0500006000  general " ||
  { echo "FAIL: the import's last chunk is not on the ledger"; failures=$((failures + 1)); }
"$citycard" --db "$db" verify >/dev/null || { echo "FAIL: verify after the 25 000-card import"; failures=$((failures + 1)); }

if [ "$failures" -ne 0 ]; then echo "$failures failed"; exit 1; fi
echo "cli bad input: all checks passed"
