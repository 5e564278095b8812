#!/usr/bin/env bash
# The demo: installs what is missing, builds, and runs a simulated business day
# on the embedded default (RocksDB under ./var, nothing else to start):
# issues cards, registers the city's operators, posts a day of top-ups and
# fares, prints balances and history, verifies the ledger, and closes the day
# into signed settlement files that stock openssl verifies.
#
#   scripts/demo.sh [CARDS] [FARES]      defaults: 3000 cards, 20000 fares
set -euo pipefail
cd "$(dirname "$0")/.."

cards=${1:-3000}
fares=${2:-20000}
day=2026-11-20                 # the business day simulated (Asia/Taipei, closes 03:00)
day_start=1795114800           # 2026-11-20T03:00:00+08:00 in Unix seconds

scripts/install-deps.sh
scripts/build.sh release
citycard=build/release/bin/citycard

# ./var is ours only if an earlier demo made it: never wipe someone's ledger.
if [ -e var ] && [ ! -e var/.citycard-demo ]; then
  echo "demo: ./var exists and was not made by the demo; move it away first" >&2
  exit 1
fi
rm -rf var
mkdir -p var
touch var/.citycard-demo
work=var/demo-input
mkdir -p "$work"
db=var/ledger

step() { printf '\n== %s\n' "$*"; }

step "ledger and the city's operators (from rules/city.toml)"
"$citycard" rules check rules/city.toml
"$citycard" --db "$db" init
awk -F' = ' '/^\[\[operators\]\]/{inop=1; next} inop && $1=="id"{id=$2} inop && $1=="name"{gsub(/"/,"",$2); print id "\t" $2; inop=0}' \
    rules/city.toml | while IFS=$'\t' read -r id name; do
  "$citycard" --db "$db" operator add --id "$id" --name "$name" >/dev/null
done
"$citycard" --db "$db" operator list | head -5
echo "..."

step "issue $cards cards (the real card's category mix)"
awk -v n="$cards" 'BEGIN {
  srand(20261120);
  print "card,category,media";
  for (i = 0; i < n; i++) {
    r = rand();
    if (r < 0.43) c = "general"; else if (r < 0.49) c = "employee"; else if (r < 0.77) c = "student";
    else if (r < 0.92) c = "senior"; else if (r < 0.96) c = "disability"; else c = "disability_companion";
    m = (rand() < 0.02) ? "mobile" : "card";
    printf "04%06X%06X,%s,%s\n", i, i * 7919 % 16777216, c, m;
  }
}' > "$work/cards.csv"
"$citycard" --db "$db" card import "$work/cards.csv"

step "a day of top-ups and fares ($fares fares)"
# Each fare is a posting group: the rider's fare to the operator, and for
# concession categories the city's subsidy to the same operator.
awk -F, -v n="$fares" -v start="$day_start" 'BEGIN { srand(7); }
NR == 1 { print "ref,debit,credit,amount,code,event_unix_seconds,mode,location"; next }
{ card[NR - 2] = $1; category[NR - 2] = $2; count = NR - 1 }
END {
  for (i = 0; i < count; i++) {
    printf "op:1:%d,topup_float,card:%s,%d,top_up,%d,top_up,9000\n", i + 1, card[i], 200 + int(rand() * 9) * 100, start + 60 + i;
  }
  split("101 102 103 104 201 201 201 301 601 701 801 901", operator, " ");
  for (f = 1; f <= n; f++) {
    i = int(rand() * count);
    # Morning and evening peaks: two bumps on a 24 h day.
    u = rand(); hour = (u < 0.35) ? 4 + rand() * 3 : (u < 0.7) ? 14 + rand() * 3 : rand() * 23;
    t = start + int(hour * 3600);
    op = operator[1 + int(rand() * 12)];
    mode = (op < 200) ? "bus_board" : (op < 300) ? "metro_out" : (op < 400) ? "bike_return" : (op < 900) ? "entry" : "pay";
    fare = (op < 200) ? 15 : (op < 300) ? 20 + int(rand() * 5) * 5 : (op < 400) ? 10 : (op < 800) ? 60 : (op < 900) ? 30 : 35 + int(rand() * 100);
    paid = fare;
    if (category[i] == "student" && op < 300) paid = int(fare * 0.8);
    if ((category[i] == "senior" || category[i] ~ /disability/) && op < 800) paid = int(fare * 0.5);
    printf "tap:%d:%d,card:%s,operator:%d,%d,fare,%d,%s,%d\n", 1000 + op, f, card[i], op, paid, t, mode, 100 + f % 40;
    if (paid < fare) printf "tap:%d:%d,subsidy_budget,operator:%d,%d,subsidy,%d,%s,%d\n", 1000 + op, f, op, fare - paid, t, mode, 100 + f % 40;
  }
}' "$work/cards.csv" > "$work/transfers.csv"
"$citycard" --db "$db" transfers import "$work/transfers.csv" || echo "(some fares were refused: wallets ran dry, as in life)"

step "what the city owes each operator"
"$citycard" --db "$db" operator list

first_card=$(sed -n 2p "$work/cards.csv" | cut -d, -f1)
step "a card holder at the card office: balance and history of $first_card"
"$citycard" --db "$db" balance "$first_card"
"$citycard" --db "$db" history "$first_card" --limit 5

step "verify the ledger"
"$citycard" --db "$db" verify

step "close the business day $day into signed settlement files"
"$citycard" --db "$db" settle keygen >/dev/null
"$citycard" --db "$db" settle close --day "$day" --at 2026-11-21T03:05:00+08:00
"$citycard" --db "$db" settle verify --day "$day"
file=$(ls var/settlement/*.csv | head -1)
echo "files in var/settlement/ ($(ls var/settlement/*.csv | wc -l) batch files); checking $file with stock openssl:"
openssl pkeyutl -verify -pubin -inkey var/settlement-keys/settlement.pub -rawin -in "$file" -sigfile "$file.sig"
(cd "$(dirname "$file")" && sha256sum -c "$(basename "$file").sha256")
