#!/usr/bin/env bash
# Sets up a bare machine (scripts/setup.sh) and runs every check and test: format, lint,
# type check, the layering check, every test (unit, integration, differential, real peers)
# and `deno publish --dry-run` for every package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
deno fmt --check
deno task lint
deno task check
deno task test
deno publish --dry-run --allow-dirty >/dev/null 2>&1 || deno publish --dry-run --allow-dirty
