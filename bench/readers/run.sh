#!/usr/bin/env bash
# Reader tap benchmark: starts pcscd (repo's virtual reader) and one emulated
# card, runs citycard-bench-readers, and stops both by PID, whatever happens.
#
#   bench/readers/run.sh [BUILD_DIR] [TAPS]      (default build/readers, 200)
# Writes bench/results/readers.json.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:-$root/build/readers}"
taps="${2:-200}"
bench="$build/bench/readers/citycard-bench-readers"
emulator="$build/readers/emulator/citycard-card-emulator"
for binary in "$bench" "$emulator"; do
  [ -x "$binary" ] || { echo "missing $binary: build targets citycard-bench-readers and citycard-card-emulator" >&2; exit 2; }
done
if pgrep -x pcscd >/dev/null; then
  echo "another pcscd is running (pid $(pgrep -x pcscd | tr '\n' ' ')); only one can run per machine. Stop it first." >&2
  exit 1
fi

log=$(mktemp)
PCSCD_PID=
EMU_PID=
stop_pid() {  # TERM (repeated until gone), KILL after ~5 s, then reap
  for _ in $(seq 50); do kill -TERM "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
cleanup() {
  if [ -n "$EMU_PID" ]; then stop_pid "$EMU_PID"; fi
  if [ -n "$PCSCD_PID" ]; then stop_pid "$PCSCD_PID"; fi
  rm -f "$log"
}
trap cleanup EXIT

/usr/sbin/pcscd --foreground -c "$root/.ci/reader.conf.d" >"$log" 2>&1 </dev/null &
PCSCD_PID=$!
for _ in $(seq 100); do [ -S /run/pcscd/pcscd.comm ] && break; sleep 0.05; done
[ -S /run/pcscd/pcscd.comm ] || { cat "$log"; exit 1; }

"$emulator" --port 35963 --master-key-hex 000102030405060708090A0B0C0D0E0F --uid 04A1B2C3D4E5F6 &
EMU_PID=$!

mkdir -p "$root/bench/results"
"$bench" --taps "$taps" --out "$root/bench/results/readers.json"
