#!/usr/bin/env bash
# Installs what ltxvfs needs, from Debian packages (and npm for the tests) only. Safe to run
# again; skips what is already there. Needs root (or sudo) for apt-get.
#   bash scripts/setup.sh           what building and running need (scripts/run-demo.sh)
#   bash scripts/setup.sh --tests   that, and what the tests need: Catch2, the test servers (moto,
#                                   s3rver), clang tools, SQLite's TCL suite (scripts/run-tests.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
tests=0
[ "${1:-}" = "--tests" ] && tests=1

packages=(build-essential cmake pkg-config git ca-certificates
  libsqlite3-dev sqlite3 libcurl4-openssl-dev libssl-dev libzstd-dev liblz4-dev
  nlohmann-json3-dev python3)
if ((tests)); then
  packages+=(catch2 nodejs npm clang-format clang
    tcl-dev dpkg-dev xz-utils procps  # SQLite's TCL suite (tests/tcl)
    python3-prometheus-client)  # the reference parser of ltx_metrics() in tests/vfs/metrics_test.cpp
fi

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

if ((!tests)); then
  echo "setup: ok (build and run; \`bash scripts/setup.sh --tests\` adds what the tests need)"
  exit 0
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
