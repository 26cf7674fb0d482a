#!/usr/bin/env bash
# The README's first command. Sets the machine up (scripts/setup.sh), then runs the headline
# demo: a ublk loop device over a temporary file in /dev/shm, served in copy mode and with
# IORING_OP_FUSED_CMD zero copy (-z) side by side, printing both figures and their ratio.
# If the loop device cannot run, it falls back to the null target and says so.
#
# Environment: DEMO_SIZE_MB (default 256), DEMO_BENCH (workload spec, default
# rw=read,bs=512k,qd=16,time=2s), DEMO_ROUNDS (copy and -z alternate this many times and the
# best run of each is reported, default 3), DEMO_DIR (default /dev/shm, else $TMPDIR).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/deno:$PWD/node_modules/.bin:$PATH"

SIZE_MB="${DEMO_SIZE_MB:-256}"
BENCH="${DEMO_BENCH:-rw=read,bs=512k,qd=16,time=2s}"
ROUNDS="${DEMO_ROUNDS:-3}"
DIR="${DEMO_DIR:-/dev/shm}"
[ -d "$DIR" ] && [ -w "$DIR" ] || DIR="${TMPDIR:-/tmp}"

IMG="$(mktemp "$DIR/ublk-demo.XXXXXX.img")"
trap 'rm -f "$IMG"' EXIT
echo "demo: backing file $IMG (${SIZE_MB} MiB of random data)" >&2
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$IMG"

echo "demo: ublk bench -t loop -f $IMG --bench $BENCH --rounds $ROUNDS" >&2
if ! deno run -A apps/ublk/main.ts bench -t loop -f "$IMG" --bench "$BENCH" --rounds "$ROUNDS"; then
  echo "demo: the loop target failed; falling back to the null target" >&2
  deno run -A apps/ublk/main.ts bench -t null --bench "$BENCH" --rounds "$ROUNDS"
fi
