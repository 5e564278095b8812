#!/usr/bin/env bash
# Runs the ledger bench (ours vs the naive layout, same run) and draws
# bench/results/ledger.png. Usage: bench/ledger/run.sh [ledger_bench args]
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/install-deps.sh
scripts/build.sh release >/dev/null
mkdir -p bench/results
build/release/bench/ledger_bench --out bench/results/ledger.json --table bench/results/ledger.dat "$@"
gnuplot <<'PLOT'
set terminal pngcairo size 900,540 noenhanced
set output 'bench/results/ledger.png'
set title 'Durable fare transfers per second (WAL fsync per batch), 1.3M cards'
set xlabel 'transfers per synced batch'
set ylabel 'transfers per second'
set logscale xy
set xtics (1, 64, 256, 1024)
set key top left
set grid
plot 'bench/results/ledger.dat' using 1:2 with linespoints lw 2 title 'citycard ledger', \
     '' using 1:3 with linespoints lw 2 title 'naive layout (Get + 3 Puts per transfer)'
PLOT
echo "drew bench/results/ledger.png"
