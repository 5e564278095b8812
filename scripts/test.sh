#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest.
# Exits non-zero on any failure. Tests start their own services (pcscd, TLS
# peers, PostgreSQL for benches) and stop them by PID.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
preset=release
if [ "${CI:-}" = "true" ]; then preset=ci; fi
scripts/build.sh "$preset"
ctest --preset "$preset" -j "$(nproc)" "$@"
