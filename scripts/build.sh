#!/usr/bin/env bash
# Configures and builds citycard with a preset (default: release; CI: ci).
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-release}"
cmake --preset "$preset" >/dev/null
cmake --build --preset "$preset" -j "$(nproc)"
