#!/usr/bin/env bash
# Installs what the project needs on a bare Debian 12 machine with Node/npm:
# Debian packages (C toolchain and headers for the layout test, liburing for native mode,
# real peers for the integration tests) and the npm devDependencies (deno, turbo, fast-check).
# Idempotent: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(gcc libc6-dev linux-libc-dev liburing-dev liburing2 fio nbdkit qemu-utils libnbd-bin)
missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x node_modules/deno/deno ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
# `deno task` runs anything in node_modules/.bin as a JavaScript file, and npm links the Deno
# binary there: drop that link, so tasks find the binary through PATH (node_modules/deno).
rm -f node_modules/.bin/deno
node_modules/deno/deno --version | head -1 >&2
