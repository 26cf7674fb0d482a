#!/usr/bin/env bash
# `deno doc --lint` over every entry point of every published package (each member's deno.json
# `exports`); fails when any reports an error. `packages/testing` is unpublished and skipped.
set -uo pipefail
cd "$(dirname "$0")/.."
entries=()
for cfg in packages/*/deno.json; do
  dir=$(dirname "$cfg")
  [ "$dir" = packages/testing ] && continue
  while IFS= read -r e; do entries+=("$dir/${e#./}"); done < <(
    deno eval --quiet "const c = JSON.parse(Deno.readTextFileSync('$cfg')); for (const v of Object.values(c.exports ?? {})) console.log(v);"
  )
done
deno doc --lint "${entries[@]}" >/dev/null
