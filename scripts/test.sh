#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
# Exits non-zero on any failure. Tests start their own services (pcscd, TLS
# peers, PostgreSQL for benches) and stop them by PID.
#
# CITYCARD_FUZZ_SMOKE=1 (set by .ci/run) then builds the fuzz preset (clang,
# ASan, UBSan; only the harnesses and what they link) and runs its ctest
# entries: every harness fuzzes CITYCARD_FUZZ_SMOKE_SECONDS (default 10) from
# its seeds, and the seeds are checked against their generator
# (docs/testing.md, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
preset=release
if [ "${CI:-}" = "true" ]; then preset=ci; fi
scripts/build.sh "$preset"
ctest --preset "$preset" -j "$(nproc)" "$@"

if [ "${CITYCARD_FUZZ_SMOKE:-0}" = "1" ]; then
  cmake --preset fuzz -DCITYCARD_FUZZ_SMOKE_SECONDS="${CITYCARD_FUZZ_SMOKE_SECONDS:-10}" >/dev/null
  cmake --build --preset fuzz -j "$(nproc)"
  ctest --preset fuzz -j "$(nproc)"
fi
