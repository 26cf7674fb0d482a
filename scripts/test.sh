#!/usr/bin/env bash
# Sets up a bare machine (scripts/setup.sh) and runs every check and test: format, lint and the
# layering check, type check, every test (unit, doc, integration, differential, real peers) and
# `deno publish --dry-run`. Every step runs; the script fails if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
export PATH="$PWD/node_modules/deno:$PWD/node_modules/.bin:$PATH"
failed=()
step() {
  local name=$1; shift
  echo "== $name: $*" >&2
  local t0=$SECONDS
  if "$@"; then echo "== $name: ok ($((SECONDS - t0)) s)" >&2; else failed+=("$name"); echo "== $name: FAILED" >&2; fi
}
step fmt deno fmt --check
step lint deno task lint
step check deno task check
step test deno task test
step publish deno publish --dry-run --allow-dirty
if ((${#failed[@]})); then echo "test.sh: failed steps: ${failed[*]}" >&2; exit 1; fi
echo "test.sh: all steps passed" >&2
