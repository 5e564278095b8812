#!/usr/bin/env bash
# PostgreSQL baseline for the engine bench (issue 3): starts its own
# PostgreSQL 15 (Debian's postgresql package) on a unix socket in a temp dir,
# loads N cards, runs pg_tap.sql (one transaction per tap, synchronous_commit
# on) with pgbench at 4 and 16 clients, prints one JSON object, and stops the
# server by PID on exit, also on failure.
#
#   bench/engine/pg_baseline.sh [CARDS] [SECONDS] > result.json
#
# Runs as root (initdb and postgres as the postgres user via runuser) or as a
# normal user (then as that user).
set -euo pipefail

cards=${1:-1300000}
seconds=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
bin=/usr/lib/postgresql/15/bin
[ -x "$bin/postgres" ] || { echo "pg_baseline: $bin/postgres not found (apt-get install postgresql)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/citycard-pg.XXXXXX)
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$tmp"
  run_as=(runuser -u postgres --)
fi
launcher=""   # runuser (or postgres itself when not root)
pid=""        # the postmaster, from postmaster.pid
cleanup() {
  for target in "$pid" "$launcher"; do
    [ -n "$target" ] && kill -0 "$target" 2>/dev/null || continue
    kill -INT "$target" 2>/dev/null || true       # postmaster: fast shutdown
    for _ in $(seq 1 100); do kill -0 "$target" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$target" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"${run_as[@]}" "$bin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --no-instructions >"$tmp/initdb.log" 2>&1 \
  || { cat "$tmp/initdb.log" >&2; exit 1; }
# Durable commits (the default, stated): fsync on, synchronous_commit on,
# full_page_writes on. Memory sized for 1.3M cards and a 40 s run.
"${run_as[@]}" "$bin/postgres" -D "$tmp/data" -k "$tmp" -c listen_addresses='' \
  -c fsync=on -c synchronous_commit=on -c full_page_writes=on -c wal_sync_method=fdatasync \
  -c shared_buffers=1GB -c max_wal_size=4GB -c checkpoint_timeout=15min -c max_connections=40 \
  -c autovacuum=off >"$tmp/postgres.log" 2>&1 &
launcher=$!
for _ in $(seq 1 100); do
  [ -s "$tmp/data/postmaster.pid" ] && pid=$(head -n 1 "$tmp/data/postmaster.pid")
  [ -n "$pid" ] && "${run_as[@]}" /usr/bin/pg_isready -q -h "$tmp" -U postgres && break
  kill -0 "$launcher" 2>/dev/null || { cat "$tmp/postgres.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$pid" ] || { echo "pg_baseline: postgres did not start" >&2; cat "$tmp/postgres.log" >&2; exit 1; }

psql() { "${run_as[@]}" /usr/bin/psql -X -q -v ON_ERROR_STOP=1 -h "$tmp" -U postgres "$@"; }
psql -c "CREATE DATABASE citycard" >/dev/null
load_start=$(date +%s.%N)
psql -d citycard >/dev/null <<SQL
CREATE TABLE card (id bigint PRIMARY KEY, category smallint NOT NULL, balance_minor bigint NOT NULL, taps bigint NOT NULL DEFAULT 0);
INSERT INTO card SELECT g, 1 + g % 6, 10000, 0 FROM generate_series(1, $cards) g;
CREATE TABLE ledger (seq bigserial PRIMARY KEY, card bigint NOT NULL, debit_account bigint NOT NULL, credit_account bigint NOT NULL,
                     amount_minor bigint NOT NULL, reader int NOT NULL, sequence bigint NOT NULL, event_time timestamptz NOT NULL);
CREATE INDEX ledger_card ON ledger (card, seq);
CREATE TABLE idempotency (reader int NOT NULL, sequence bigint NOT NULL, outcome text NOT NULL, PRIMARY KEY (reader, sequence));
VACUUM ANALYZE;
CHECKPOINT;
SQL
load_end=$(date +%s.%N)
cp "$here/pg_tap.sql" "$tmp/pg_tap.sql"
chmod a+r "$tmp/pg_tap.sql"

results=()
for clients in 4 16; do
  out=$("${run_as[@]}" /usr/bin/pgbench -n -h "$tmp" -U postgres -M prepared -c "$clients" -j 2 -T "$seconds" \
        -D cards="$cards" -f "$tmp/pg_tap.sql" -r citycard 2>&1) || { echo "$out" >&2; exit 1; }
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p')
  latency=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
  transactions=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
  failed=$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
  results+=("{\"clients\": $clients, \"taps_per_second\": ${tps:-0}, \"latency_ms_average\": ${latency:-0}, \"transactions\": ${transactions:-0}, \"failed\": ${failed:-0}}")
  echo "postgresql baseline: $clients clients: ${tps:-?} taps/s, average latency ${latency:-?} ms ($transactions transactions, ${failed:-0} failed)" >&2
done
rows=$(psql -d citycard -t -A -c "SELECT count(*) FROM ledger")
version=$("$bin/postgres" --version)

joined=$(IFS=,; echo "${results[*]}")
cat <<JSON
{"server": "$version", "cards": $cards, "seconds_per_run": $seconds, "load_seconds": $(echo "$load_end - $load_start" | bc),
 "settings": {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "wal_sync_method": "fdatasync", "shared_buffers": "1GB"},
 "ledger_rows_after": $rows, "runs": [$joined]}
JSON
