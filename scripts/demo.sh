#!/usr/bin/env bash
# The README's first command. Sets the machine up (scripts/setup.sh), then runs the headline
# demo: a ublk loop device over a temporary file in /dev/shm, served in copy mode and with
# IORING_OP_FUSED_CMD zero copy (-z) side by side, printing both figures and their ratio.
# If the loop device cannot run, it falls back to the null target and says so. Then it adds the
# same file as a device served by a `ublk` daemon (`ublk add -z`), shows it from another
# process (`ublk list`), compares its NBD export with the file (`qemu-img compare`, when
# qemu-utils is installed) and deletes it; the run directory is a temporary one.
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
RUN="$(mktemp -d "${TMPDIR:-/tmp}/ublk-demo-run.XXXXXX")"
export UBLK_RUN_DIR="$RUN"
ublk() { deno run -A apps/ublk/main.ts "$@"; }
trap 'ublk del -a >/dev/null 2>&1 || true; rm -rf "$IMG" "$RUN"' EXIT
echo "demo: backing file $IMG (${SIZE_MB} MiB of random data)" >&2
head -c "$((SIZE_MB * 1024 * 1024))" /dev/urandom >"$IMG"

echo "demo: ublk bench -t loop -f $IMG --bench $BENCH --rounds $ROUNDS" >&2
# --force: the file is the demo's own (a write workload in DEMO_BENCH may overwrite it).
if ! ublk bench -t loop -f "$IMG" --force --bench "$BENCH" --rounds "$ROUNDS"; then
  echo "demo: the loop target failed; falling back to the null target" >&2
  ublk bench -t null --bench "$BENCH" --rounds "$ROUNDS"
fi

echo "demo: ublk add -t loop -f $IMG -z (a daemon serves it; UBLK_RUN_DIR=$RUN)" >&2
ublk add -t loop -f "$IMG" -z
ublk list
URI="$(ublk list --json | sed -n 's/.*"nbd":"\([^"]*\)".*/\1/p')"
if command -v qemu-img >/dev/null && [ -n "$URI" ]; then
  echo "demo: qemu-img compare $URI $IMG" >&2
  qemu-img compare "$URI" "$IMG"
fi
ublk del -n 0
