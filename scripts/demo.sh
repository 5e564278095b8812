#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs a simulated city day on
# the embedded default (RocksDB under ./var, nothing else to start):
#   1. the card office issues the cards and registers the city's operators,
#      generates the card master key inside a SoftHSM2 token (./var/token;
#      it never leaves it) and exports the cards' diversified keys for the
#      card bureau (here: for the simulated cards);
#   2. citycard-engine starts (mutual TLS on loopback, certificates in ./var/pki,
#      card proofs required, card keys derived in the token in ./var/token),
#      and the card office switches auto top-up on for 40 co-branded credit
#      cards through it;
#   3. the city's readers (bus validators, metro gates, bikes, libraries, pools,
#      shops, ...) play a school day of taps against it over TLS, each tap
#      signed by its card over the whole transaction, with morning
#      and evening peaks and buses that lose coverage and upload late;
#   4. a clerk signs in with her certificate, looks up and tops up a card while
#      the engine runs (and is refused what her role may not do), and the
#      day's usage report by mode with a chart of taps per mode; the
#      supervisor loads tomorrow's bus fares into the running engine, which
#      switches to them at tomorrow's business-day start; the supervisor
#      sets up City Hall's access lists, and the clerk reads a door's log and
#      a meeting's attendance from the day's records;
#   5. the settlement clerk closes the business day into signed settlement
#      files, one per operator, by the running engine (`settle close` goes
#      through its admin socket), and they are reconciled with the ledger;
#      the day's cost of each city programme, per operator, is printed, and
#      the issuing bank's file of the day's auto top-ups;
#   6. the engine stops cleanly; the ledger and its audit trail's hash chain
#      are verified, an auditor reads the trail, the day's files are verified
#      again and with stock openssl.
#
#   scripts/demo.sh [CARDS]      default 30000 cards (about 125k taps)
set -euo pipefail
cd "$(dirname "$0")/.."

cards=${1:-30000}
# The day the simulator plays (Asia/Taipei; it closes at 03:00): two days ago,
# so every tap is in the engine's past and within offline retention (7 days).
day=$(TZ=Asia/Taipei date -d '2 days ago' +%F)
next_day=$(TZ=Asia/Taipei date -d '1 day ago' +%F)

scripts/install-deps.sh
scripts/build.sh release
bin=build/release/bin
loadgen=build/release/bench/engine/citycard-loadgen
citycard=$bin/citycard

# ./var is ours only if an earlier demo made it: never wipe someone's ledger.
if [ -e var ] && [ ! -e var/.citycard-demo ]; then
  echo "demo: ./var exists and was not made by the demo; move it away first" >&2
  exit 1
fi
# The city's settlement keys outlive a run, as they outlive a business day
# (the clearing house holds the public key): with the same keys, a second
# run on the same day makes byte-identical files (its digest, below).
kept_keys=
if [ -d var/settlement-keys ]; then
  kept_keys=$(mktemp -d)
  cp -a var/settlement-keys "$kept_keys/"
fi
rm -rf var
mkdir -p var/demo-input
if [ -n "$kept_keys" ]; then
  mv "$kept_keys/settlement-keys" var/settlement-keys
  rmdir "$kept_keys"
fi
touch var/.citycard-demo
db=var/ledger
engine_pid=

stop_engine() {  # TERM, then KILL after ~10 s; always reap
  [ -n "$engine_pid" ] || return 0
  for _ in $(seq 100); do kill -TERM "$engine_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$engine_pid" 2>/dev/null || true
  wait "$engine_pid" 2>/dev/null || true
  engine_pid=
}
trap stop_engine EXIT

step() { printf '\n== %s\n' "$*"; }

step "the card office: ledger, the city's operators (rules/city.toml), its readers, $cards cards"
"$citycard" rules check rules/city.toml
"$citycard" --db "$db" init  # also the PKI's CA and its first supervisor, var/pki/clerks/supervisor
export CITYCARD_CLERK=var/pki/clerks/supervisor  # the card office signs in as him from here on
"$citycard" pki issue-clerk --dir var/pki --name mei --role clerk >/dev/null
"$citycard" pki issue-clerk --dir var/pki --name ann --role auditor >/dev/null
"$citycard" pki issue-clerk --dir var/pki --name sam --role settlement >/dev/null
awk -F' = ' '/^\[\[operators\]\]/{inop=1; next} inop && $1=="id"{id=$2} inop && $1=="name"{gsub(/"/,"",$2); print id "\t" $2; inop=0}' \
    rules/city.toml | while IFS=$'\t' read -r id name; do
  "$citycard" --db "$db" operator add --id "$id" --name "$name" >/dev/null
done
"$loadgen" --cards "$cards" --roster var/demo-input/cards.csv --readers var/demo-input/readers.csv
"$citycard" --db "$db" card import var/demo-input/cards.csv
"$citycard" --db "$db" reader import var/demo-input/readers.csv
"$loadgen" --issue-pki var/pki >/dev/null

step "the card master key, in a PKCS#11 token (SoftHSM2 in ./var/token), and the card bureau's key export"
"$citycard" keys --token-dir var/token init-token
"$citycard" keys --token-dir var/token generate --version 1
"$citycard" keys --token-dir var/token list
"$citycard" keys --token-dir var/token export --cards var/demo-input/cards.csv --out var/demo-input/card-keys.csv

step "citycard-engine starts (embedded default: ./var, loopback, mutual TLS, card proofs required)"
"$bin/citycard-engine" 2> var/engine.log &
engine_pid=$!
for _ in $(seq 200); do [ -s var/engine.ports ] && break; sleep 0.1; done
[ -s var/engine.ports ] || { echo "demo: the engine did not start:" >&2; cat var/engine.log >&2; exit 1; }
cat var/engine.ports
tap_port=$(sed -n 's/^tap_port=//p' var/engine.ports)
metrics_port=$(sed -n 's/^metrics_port=//p' var/engine.ports)
# Holders of co-branded credit cards who opted in with their bank: the card
# office switches auto top-up on through the running engine (the bank's
# money; its own file at the close).
auto_top_up_cards=$(awk -F, '$3 == "co_branded_credit" && n++ < 40 {print $1}' var/demo-input/cards.csv)
for c in $auto_top_up_cards; do
  "$citycard" --db "$db" card auto-top-up "$c" --on --threshold 500 --amount 500 --daily-limit 1000 \
      --reason "opted in with the issuing bank" >/dev/null
done
echo "auto top-up on for $(echo "$auto_top_up_cards" | wc -w) co-branded credit cards (threshold 500, amount 500, at most 1000 TWD a day)"

step "the city's readers play $day over TLS, 20000 taps/s offered (the day in send order)"
"$loadgen" --cards "$cards" --day "$day" --pki var/pki --port "$tap_port" --rate 20000 --duration 120 \
    --card-keys var/demo-input/card-keys.csv --json var/demo-loadgen.json

card=$(sed -n 3p var/demo-input/cards.csv | cut -d, -f1)
step "a clerk at the card office, while the engine runs: card $card"
"$citycard" --db "$db" --clerk var/pki/clerks/mei balance "$card"
"$citycard" --db "$db" --clerk var/pki/clerks/mei topup "$card" 200 --reason "cash at the counter"
"$citycard" --db "$db" --clerk var/pki/clerks/mei history "$card" --limit 8
echo "the card's taps of $day as the engine recorded them (refused and identity taps too):"
"$citycard" --db "$db" --clerk var/pki/clerks/mei taps --day "$day" --card "$card" --limit 10
echo "the day's usage by mode, read from a snapshot while the engine runs (chart: var/usage-$day.html):"
"$citycard" --db "$db" --clerk var/pki/clerks/mei report usage --from "$day" --to "$day" --by mode \
    --chart "var/usage-$day.html"
"$citycard" --db "$db" reader show 1
"$citycard" --db "$db" --clerk var/pki/clerks/mei operator add --id 999 --name "Not Allowed" \
    || echo "(refused: a clerk may not add operators; only a supervisor may)"

tomorrow=$(TZ=Asia/Taipei date -d 'tomorrow' +%F)
step "the supervisor loads new bus fares (15 -> 16 TWD) from $tomorrow into the running engine"
sed -e "s/^version = 4\$/version = 5\neffective_from = \"$tomorrow\"/" \
    -e '0,/{ amount_minor = 15 },/s//{ amount_minor = 16 },/' rules/city.toml > var/demo-input/city-next.toml
"$citycard" --db "$db" rules load var/demo-input/city-next.toml --reason "council decision: bus fare 16 TWD"
"$citycard" --db "$db" rules show

step "access lists after the day: City Hall's door 511/5100 and a meeting in room 512/5200 (docs/access.md)"
# The day's identity taps were decided before any list existed (every active
# card opened every door); the lists apply to taps from now on, and the
# records answer who came. Three who signed in at the room between 12:00 and
# 18:00 (04:00-10:00 UTC, as the records print times) and two employees who
# did not make the role the meeting invites.
signed=$("$citycard" --db "$db" door-log --door 512/5200 --day "$day" --csv |
    awk -F, -v from="${day}T04:00:00Z" -v to="${day}T10:00:00Z" \
        'NR > 1 && $3 == "approved" && $1 >= from && $1 < to && !seen[$2]++ && n++ < 3 {print $2}')
others=$(awk -F, -v skip="${signed//$'\n'/ }" 'BEGIN {split(skip, s, " "); for (i in s) known[s[i]] = 1}
    $2 == "employee" && !($1 in known) && n++ < 2 {print $1}' var/demo-input/cards.csv)
"$citycard" --db "$db" access role add staff $signed $others
"$citycard" --db "$db" access group add city-hall --door 511/5100 --door 511/5101 \
    --admit 'role:staff@mon-fri/07:00-19:00' --admit 'category:employee@mon-fri/07:00-19:00'
"$citycard" --db "$db" access meeting add council --room 512/5200 --from "${day}T12:00" --to "${day}T18:00" --invite role:staff
echo "door 511/5100 on $day (the first taps):"
"$citycard" --db "$db" --clerk var/pki/clerks/mei door-log --door 511/5100 --day "$day" | sed -n 1,5p
"$citycard" --db "$db" --clerk var/pki/clerks/mei attendance --meeting council

step "the engine's metrics (Prometheus text, a few lines)"
exec 3<>"/dev/tcp/127.0.0.1/$metrics_port"
printf 'GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
grep -E '^citycard_(taps_total|ledger_commits_total|groups_per_commit_(sum|count)|tap_refusals_total)' <&3 | grep -v ' 0$' | head -16 || true
exec 3<&-

step "close the business day $day into signed settlement files, while the engine runs (its admin socket)"
[ -e var/settlement-keys/settlement.key ] || "$citycard" --db "$db" settle keygen >/dev/null
"$citycard" --db "$db" --clerk var/pki/clerks/sam settle close --day "$day" --at "${next_day}T03:05:00+08:00"
"$citycard" --db "$db" settle verify --day "$day" | tail -n 3
grep -E 'event=settlement_job_(started|finished)' var/engine.log | tail -n 2
echo "what each city programme paid the operators on $day (the files' P records; late taps stay on their own day here):"
"$citycard" --db "$db" --clerk var/pki/clerks/sam report programmes --from "$day" --to "$day" | tail -n 12
issuer_file=$(ls var/settlement/CCISS_*.csv | head -1)
echo "the issuing bank's file of the day's auto top-ups, $issuer_file (its trailer):"
tail -n 1 "$issuer_file"

step "the engine stops on SIGTERM: stop accepting, drain, flush, close the ledger"
stop_engine
tail -n 2 var/engine.log

step "verify the ledger (and the audit trail's hash chain), and the day's files against it with the engine stopped"
"$citycard" --db "$db" verify
"$citycard" --db "$db" settle verify --day "$day" | tail -n 1

step "the auditor reads the audit trail: who did what, with which role and why"
"$citycard" --db "$db" --clerk var/pki/clerks/ann audit | tail -n 5
file=$(ls var/settlement/*_000201_*.csv | head -1)
echo "$(ls var/settlement/*.csv | wc -l) batch files in var/settlement/; checking the metro's, $file, with stock openssl:"
openssl pkeyutl -verify -pubin -inkey var/settlement-keys/settlement.pub -rawin -in "$file" -sigfile "$file.sig"
(cd "$(dirname "$file")" && sha256sum -c "$(basename "$file").sha256")
# A file's lines are in event-time order and each card's taps reach the
# engine in its order, so the day's files depend on the day's taps only:
# run the demo again (same day, same keys) and this digest is the same.
echo "the day's settlement digest (SHA-256 of its files' digests): $(cat var/settlement/CCSET_*.csv.sha256 | sha256sum | cut -c1-64)"
