#!/usr/bin/env bash
# Installs the Debian 12 packages assay needs to build, test and run. Idempotent: packages already
# present are skipped, and apt is not touched at all when nothing is missing.
#
# --browser also installs Debian's Chromium, which the dashboard's browser test drives, HAProxy,
# which the shards test puts in front of three servers, and NumPy and SciPy, with which the
# calibration benchmark's small run times the authors' cBMM beside assay (the test command passes
# it; the run command needs none of them).
set -euo pipefail
browser=0
[ "${1:-}" = "--browser" ] && browser=1

packages=(
  cmake ninja-build g++ pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libeigen3-dev libsqlite3-dev sqlite3 libssl-dev openssl
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev grpc-proto libmicrohttpd-dev
  python3 python3-grpcio python3-protobuf
  prometheus clang clang-tidy curl util-linux
)
# The dashboard (client/web) builds with Node.js and npm. Debian's nodejs (18) and npm are
# installed only where no npm is found: a machine with its own Node/npm keeps it (Debian's npm
# package conflicts with a Node that ships its own npm).
if ! command -v npm > /dev/null 2>&1; then packages+=(nodejs npm); fi
if [ "$browser" -eq 1 ]; then packages+=(chromium haproxy python3-numpy python3-scipy); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
