#!/usr/bin/env bash
# Installs everything ltxvfs needs to build and test, from Debian packages and npm only.
# Safe to run again; skips what is already there. Needs root (or sudo) for apt-get.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(build-essential cmake pkg-config git ca-certificates
  libsqlite3-dev sqlite3 libcurl4-openssl-dev libssl-dev libzstd-dev liblz4-dev
  nlohmann-json3-dev catch2 python3 nodejs npm clang-format clang
  tcl-dev dpkg-dev xz-utils procps  # SQLite's TCL suite (tests/tcl)
  python3-prometheus-client)  # the reference parser of ltx_metrics() in tests/vfs/metrics_test.cpp

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The machine image may provide node/npm outside Debian's packages; don't fight it.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs/}"); missing=("${missing[@]/npm/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# moto (the S3-compatible test server) ships with the machine image's python3; Debian has it too.
if ! python3 -c 'import moto.server' 2>/dev/null; then
  echo "setup: installing python3-moto"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-moto python3-flask \
    python3-flask-cors python3-werkzeug >/dev/null
fi

# s3rver verifies SigV4 signatures (moto does not): the tests use it as a second, strict server.
if [ ! -d "$root/.cache/node/node_modules/@20minutes/s3rver" ]; then
  echo "setup: installing @20minutes/s3rver@4.0.4 into .cache/node"
  mkdir -p "$root/.cache/node"
  npm install --silent --no-audit --no-fund --prefix "$root/.cache/node" @20minutes/s3rver@4.0.4
fi
# SQLite's TCL test suite, from Debian's sqlite3 source package (tests/tcl builds testfixture).
bash "$root/tests/tcl/fetch-source.sh"
echo "setup: ok"
