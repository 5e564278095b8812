#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
# Exits non-zero on any failure. Tests start their own services (pcscd, TLS
# peers, PostgreSQL for benches) and stop them by PID.
#
# CITYCARD_SANITIZE_SUBSET=1 (set by .ci/run) then builds the debug-sanitize
# preset's subset (ASan and UBSan, every report fatal: the tests labelled
# sanitize_subset and what they need) and runs it; CITYCARD_SANITIZE_SUITE=1
# builds all of debug-sanitize and runs the whole suite under it instead
# (docs/testing.md, "What CI runs").
#
# CITYCARD_FUZZ_SMOKE=1 (set by .ci/run) then builds the fuzz preset (clang,
# ASan, UBSan; only the harnesses and what they link) and runs its ctest
# entries: every harness fuzzes CITYCARD_FUZZ_SMOKE_SECONDS (default 10) from
# its seeds, and the seeds are checked against their generator
# (docs/testing.md, "Fuzzing", "In CI").
#
# Each step prints how long it took, for the figures in docs/testing.md.
set -euo pipefail
cd "$(dirname "$0")/.."

step_started=$SECONDS
step_done() {
  echo "citycard: $1 took $((SECONDS - step_started)) s" >&2
  step_started=$SECONDS
}

scripts/install-deps.sh
step_done "installing packages"
preset=release
if [ "${CI:-}" = "true" ]; then preset=ci; fi
scripts/build.sh "$preset"
step_done "building $preset"
ctest --preset "$preset" -j "$(nproc)" "$@"
step_done "the suite ($preset)"

if [ "${CITYCARD_SANITIZE_SUITE:-0}" = "1" ]; then
  scripts/build.sh debug-sanitize
  step_done "building debug-sanitize"
  ctest --preset debug-sanitize -j "$(nproc)" "$@"
  step_done "the suite (debug-sanitize)"
elif [ "${CITYCARD_SANITIZE_SUBSET:-0}" = "1" ]; then
  cmake --preset debug-sanitize >/dev/null
  cmake --build --preset sanitize-subset -j "$(nproc)"
  step_done "building the sanitize subset"
  ctest --preset sanitize-subset -j "$(nproc)"
  step_done "the sanitize subset (debug-sanitize)"
fi

if [ "${CITYCARD_FUZZ_SMOKE:-0}" = "1" ]; then
  cmake --preset fuzz -DCITYCARD_FUZZ_SMOKE_SECONDS="${CITYCARD_FUZZ_SMOKE_SECONDS:-10}" >/dev/null
  cmake --build --preset fuzz -j "$(nproc)"
  step_done "building fuzz"
  ctest --preset fuzz -j "$(nproc)"
  step_done "the fuzz smoke"
fi
