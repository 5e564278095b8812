#!/usr/bin/env bash
# Installs the Debian 12 packages citycard needs, only those missing.
# Runs as root on a fresh machine; a no-op when everything is there.
set -euo pipefail

packages=(
  g++ cmake ninja-build pkg-config
  clang-15 libfuzzer-15-dev llvm-15
  libboost-dev librocksdb-dev libssl-dev openssl libfmt-dev
  libtomlplusplus-dev nlohmann-json3-dev libcli11-dev catch2
  libpcsclite-dev pcscd vsmartcard-vpcd libgoogle-perftools-dev
  softhsm2 libp11-kit-dev opensc
  postgresql gnuplot-nox
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "citycard: missing Debian packages: ${missing[*]} (run as root to install them)" >&2
  exit 1
fi

echo "citycard: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
