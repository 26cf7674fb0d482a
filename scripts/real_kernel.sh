#!/usr/bin/env bash
# Runs a TypeScript test against a REAL ublk_drv: a Debian cloud kernel (6.12 from Debian 12's
# security suite, or the newest from trixie-backports/sid; each builds ublk as a module) booted under QEMU/TCG with a busybox initramfs that carries Deno, its glibc
# libraries, liburing and a `deno bundle` of the test. See /work/shared/REAL_KERNEL.md.
#
# Usage: scripts/real_kernel.sh [test.ts]   (default tests/real_kernel/probe.ts)
# After the test, the guest runs tests/real_kernel/cli_probe.ts: the `ublk` CLI (a bundle of
# apps/ublk/main.ts) as separate processes on the real driver (REAL_KERNEL_CLI=0 skips it), then
# tests/real_kernel/matrix_probe.ts, the kublk-style matrix of every data mode the kernel has
# (REAL_KERNEL_MATRIX=0 skips it).
#
# Idempotent: installs missing Debian packages (qemu-system-x86, busybox-static, cpio,
# xz-utils), downloads the kernel image package once into .cache/real_kernel/ (git-ignored),
# extracts it with dpkg -x (never installed), and rebuilds the initramfs and bundle each run.
# Prints progress lines on stderr and the guest's serial console on stdout; exits 0 when the
# guest printed `REAL_KERNEL: PASS`, 1 on `REAL_KERNEL: FAIL`, 2 when no verdict came twice
# (boot panic or timeout: one retry, as ~1 boot in 50 panics early).
#
# Environment: REAL_KERNEL (`6.12`, the default; `newest`; or a version prefix such as 7.2.13:
# see "kernel" below), REAL_KERNEL_TIMEOUT (seconds per boot, default 1500), REAL_KERNEL_MEM
# (default 1G), REAL_KERNEL_META (the 6.12 meta package, default linux-image-6.12-cloud-amd64),
# REAL_KERNEL_TCG_THREAD (`single`,
# the default, or `multi`). Seen once under multi-threaded TCG: an early guest panic (int3 Oops
# in sched_clock_cpu, likely a cross-vCPU code-patching race); single-threaded TCG is as fast on
# this 2-core host and is expected to avoid it (not proven: 20 short boots of each mode all
# passed). DENO (the deno binary).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache/real_kernel"
TEST=${1:-tests/real_kernel/probe.ts}
TIMEOUT=${REAL_KERNEL_TIMEOUT:-1500}
MEM=${REAL_KERNEL_MEM:-1G}
T0=$(date +%s)

log() { echo "real_kernel: [$(($(date +%s) - T0))s] $*" >&2; }
die() {
  echo "real_kernel: error: $*" >&2
  exit 3
}

# --- deno --------------------------------------------------------------------------------------
find_deno() {
  local c
  for c in "${DENO:-}" "$ROOT/node_modules/deno/deno" "$ROOT/node_modules/@deno/linux-x64-glibc/deno" \
    "$(command -v deno 2>/dev/null || true)"; do
    if [ -n "$c" ] && [ -x "$c" ]; then
      readlink -f "$c"
      return 0
    fi
  done
  return 1
}
DENO_BIN=$(find_deno) || die "no deno binary (run npm install in $ROOT or set DENO)"

# --- Debian packages ---------------------------------------------------------------------------
mkdir -p "$CACHE"
# One run at a time per checkout (the work dir and console log are shared).
exec 9>"$CACHE/lock"
flock 9
installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]; }
need=()
for p in qemu-system-x86 busybox-static cpio xz-utils; do
  installed "$p" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" \
    >"$CACHE/apt.log" 2>&1; then
    log "apt-get update (once)"
    apt-get update -q >>"$CACHE/apt.log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" \
      >>"$CACHE/apt.log" 2>&1 || die "apt-get install failed (see $CACHE/apt.log)"
  fi
fi
for p in qemu-system-x86 busybox-static cpio xz-utils; do
  installed "$p" || die "package $p is missing after apt-get install"
done

# --- kernel (resolved at run time, downloaded once per version, extracted, never installed) -----
# REAL_KERNEL selects it: `6.12` (Debian 12's security suite, already in the system's apt
# sources), `newest` (the newest cloud kernel with modules in trixie-backports or sid, reached
# with an apt configuration of our own under $CACHE/apt: the system's sources are never
# touched), or a version prefix such as `7.2.13` (looked up in the same suites).
# Up to 6.18 one linux-image-<abi> package holds vmlinuz and modules; from 6.19 that package is
# a meta package and vmlinuz, modules and config come in linux-binary-, linux-modules- and
# linux-base-<abi>: all are dpkg -x'ed into one folder.
APTDIR="$CACHE/apt"
own_apt() {
  mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial"
  cat >"$APTDIR/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie-backports main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main
SRC
  cat >"$APTDIR/apt.conf" <<CONF
Dir::Etc::sourcelist "$APTDIR/sources.list";
Dir::Etc::sourceparts "/dev/null";
Dir::State::Lists "$APTDIR/lists";
Dir::Cache "$APTDIR/cache";
Dir::State::status "/dev/null";
APT::Architecture "amd64";
Acquire::Languages "none";
CONF
  log "apt-get update (own configuration: trixie-backports, sid)"
  if ! APT_CONFIG="$APTDIR/apt.conf" apt-get update -q >"$APTDIR/update.log" 2>&1; then
    log "apt-get update with our configuration failed (see $APTDIR/update.log); using the lists we have"
  fi
}
# Prints "<abi> <package>..." for the newest (or the REAL_KERNEL-prefixed) cloud kernel that
# ships modules, from our own apt configuration.
resolve_new() {
  local want=$1 names abi best="" pkgs
  names=$(APT_CONFIG="$APTDIR/apt.conf" apt-cache search --names-only \
    '^linux-(image|modules)-[0-9][^ ]*-cloud-amd64$' 2>/dev/null | awk '{print $1}' || true)
  # ABIs with a modules package (>= 6.19) or a full image package (<= 6.18), newest first.
  for abi in $(echo "$names" | sed -E 's/^linux-(image|modules)-//' | sort -u -V -r); do
    case "$want" in newest) ;; *) case "$abi" in "$want"*) ;; *) continue ;; esac ;; esac
    if echo "$names" | grep -qx "linux-modules-$abi"; then
      best="$abi"
      break
    fi
    # A full image package, unless it is a meta package whose modules package is gone.
    if ! APT_CONFIG="$APTDIR/apt.conf" apt-cache depends "linux-image-$abi" 2>/dev/null |
      grep -q "Depends: linux-modules-$abi"; then
      best="$abi"
      break
    fi
  done
  [ -n "$best" ] || return 1
  if echo "$names" | grep -qx "linux-modules-$best"; then
    pkgs="linux-binary-$best linux-modules-$best linux-base-$best"
  else
    pkgs="linux-image-$best"
  fi
  echo "$best $pkgs"
}
resolve_612() {
  local meta=${REAL_KERNEL_META:-linux-image-6.12-cloud-amd64} img
  img=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ && !f {print $2; f = 1}')
  if [ -z "$img" ]; then
    log "apt-get update (kernel package unknown)"
    apt-get update -q >/dev/null 2>&1 || true
    img=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-/ && !f {print $2; f = 1}')
  fi
  [ -n "$img" ] || return 1
  case "$img" in
    *-unsigned) ;;
    *) if apt-cache show "$img-unsigned" >/dev/null 2>&1; then img="$img-unsigned"; fi ;;
  esac
  echo "${img#linux-image-} $img"
}
SEL=${REAL_KERNEL:-6.12}
case "$SEL" in
  6.12) RES=$(resolve_612) || die "cannot resolve the image package of Debian's 6.12 kernel" ;;
  *)
    own_apt
    RES=$(resolve_new "$SEL") || {
      # Offline: the newest kernel already extracted here.
      cached=$(ls -1 "$CACHE/kernel" 2>/dev/null | grep -v '^6\.12' | sort -V | tail -n1 || true)
      [ -n "$cached" ] && [ "$SEL" = newest ] || die "no cloud kernel with modules matches '$SEL' in trixie-backports or sid"
      log "could not resolve '$SEL'; using the cached $cached"
      RES="$cached"
    }
    ;;
esac
read -r ABI PKGS <<<"$RES"
KDIR="$CACHE/kernel/$ABI"
if [ ! -f "$KDIR/.done" ]; then
  mkdir -p "$CACHE/debs"
  debs=()
  for pkg in $PKGS; do
    if ! ls "$CACHE/debs/${pkg}"_*.deb >/dev/null 2>&1; then
      log "downloading $pkg"
      if [ "$SEL" = 6.12 ]; then
        (cd "$CACHE/debs" && apt-get download -q "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
      else
        (cd "$CACHE/debs" && APT_CONFIG="$APTDIR/apt.conf" apt-get download -q "$pkg" >/dev/null 2>&1) ||
          die "apt-get download $pkg failed"
      fi
    fi
    f=("$CACHE/debs/${pkg}"_*.deb)
    debs+=("${f[0]}")
  done
  log "extracting $PKGS"
  rm -rf "$KDIR"
  mkdir -p "$KDIR"
  for d in "${debs[@]}"; do dpkg -x "$d" "$KDIR"; done
  touch "$KDIR/.done"
fi
# (No `| head`/`awk exit` anywhere: with pipefail an early reader makes the writer die of SIGPIPE.)
VMLINUZ=$(find "$KDIR/boot" "$KDIR/usr/lib/modules" "$KDIR/lib/modules" -maxdepth 2 -name 'vmlinuz*' \
  -type f -print -quit 2>/dev/null || true)
[ -n "$VMLINUZ" ] && [ -f "$VMLINUZ" ] || die "no vmlinuz in $KDIR ($PKGS)"
KO_XZ=$(find "$KDIR/lib/modules" "$KDIR/usr/lib/modules" -name 'ublk_drv.ko*' -print -quit 2>/dev/null || true)
[ -n "$KO_XZ" ] || die "ublk_drv module not found in $PKGS"
KVER=$(echo "$KO_XZ" | sed -E 's#.*/lib/modules/([^/]+)/.*#\1#')
log "kernel $KVER ($(basename "$VMLINUZ"), selected by REAL_KERNEL=$SEL)"
WORK="$CACHE/work-$SEL"
CONSOLE="$CACHE/console-$SEL.log"

# --- bundle of the test ------------------------------------------------------------------------
rm -rf "$WORK"
mkdir -p "$WORK"
log "bundling $TEST"
(cd "$ROOT" && "$DENO_BIN" bundle --quiet --platform deno -o "$WORK/test.js" "$TEST") ||
  die "deno bundle $TEST failed"
# The CLI case (tests/real_kernel/cli_probe.ts drives a bundle of the `ublk` CLI as separate
# processes); REAL_KERNEL_CLI=0 leaves it out.
if [ "${REAL_KERNEL_CLI:-1}" != 0 ]; then
  log "bundling apps/ublk/main.ts and tests/real_kernel/cli_probe.ts"
  (cd "$ROOT" && "$DENO_BIN" bundle --quiet --platform deno -o "$WORK/ublk.js" apps/ublk/main.ts) ||
    die "deno bundle apps/ublk/main.ts failed"
  (cd "$ROOT" && "$DENO_BIN" bundle --quiet --platform deno -o "$WORK/cli.js" tests/real_kernel/cli_probe.ts) ||
    die "deno bundle tests/real_kernel/cli_probe.ts failed"
  # The kublk-style matrix (tests/real_kernel/matrix_probe.ts); REAL_KERNEL_MATRIX=0 leaves it out.
  if [ "${REAL_KERNEL_MATRIX:-1}" != 0 ]; then
    log "bundling tests/real_kernel/matrix_probe.ts"
    (cd "$ROOT" && "$DENO_BIN" bundle --quiet --platform deno -o "$WORK/matrix.js" tests/real_kernel/matrix_probe.ts) ||
      die "deno bundle tests/real_kernel/matrix_probe.ts failed"
  fi
fi

# --- initramfs ---------------------------------------------------------------------------------
log "building initramfs"
R="$WORK/root"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,lib64,lib/x86_64-linux-gnu,usr/bin,test,etc}
cp /bin/busybox "$R/bin/busybox"
for a in sh mount insmod poweroff echo cat dd md5sum cmp ls sync sleep mkdir grep; do
  ln -sf busybox "$R/bin/$a"
done
case "$KO_XZ" in
  *.xz) xz -dc "$KO_XZ" >"$R/ublk_drv.ko" ;;
  *.zst) zstd -q -dc "$KO_XZ" >"$R/ublk_drv.ko" || die "zstd is needed to unpack $KO_XZ" ;;
  *) cp "$KO_XZ" "$R/ublk_drv.ko" ;;
esac
cp "$DENO_BIN" "$R/bin/deno"
libs() { ldd "$1" | awk '/=>/ {print $3; next} $1 ~ /^\// {print $1}'; }
URING=$(ldconfig -p | awk '/liburing\.so\.2 / && !f {print $NF; f = 1}')
[ -n "$URING" ] || die "liburing.so.2 not found (apt-get install liburing2)"
for l in $(libs "$DENO_BIN") $(libs "$URING") "$URING"; do
  [ -f "$l" ] || continue
  case "$l" in
    */ld-linux-x86-64.so.2) cp -L "$l" "$R/lib64/ld-linux-x86-64.so.2" ;;
    *) cp -L "$l" "$R/lib/x86_64-linux-gnu/$(basename "$l")" ;;
  esac
done
# fio (optional): the probe runs a verify job on the device when /bin/fio exists in the guest.
FIO=$(command -v fio 2>/dev/null || true)
if [ -n "$FIO" ]; then
  cp "$FIO" "$R/bin/fio"
  for l in $(libs "$FIO"); do
    [ -f "$l" ] || continue
    case "$l" in
      */ld-linux-x86-64.so.2) ;;
      *) cp -L "$l" "$R/lib/x86_64-linux-gnu/$(basename "$l")" ;;
    esac
  done
fi
cp "$WORK/test.js" "$R/test/test.js"
for f in ublk.js cli.js matrix.js; do
  if [ -f "$WORK/$f" ]; then cp "$WORK/$f" "$R/test/$f"; fi
done
cat >"$R/init" <<'EOF'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin HOME=/tmp DENO_DIR=/tmp/deno NO_COLOR=1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
echo "GUEST: kernel $(cat /proc/sys/kernel/osrelease)"
if insmod /ublk_drv.ko; then
  echo "GUEST: ublk_drv loaded"
  /bin/deno run -A --no-prompt /test/test.js
  rc=$?
  for t in cli matrix; do
    if [ -f /test/$t.js ]; then
      /bin/deno run -A --no-prompt /test/$t.js
      crc=$?
      if [ "$rc" = 0 ]; then rc=$crc; fi
    fi
  done
else
  echo "GUEST: insmod ublk_drv.ko failed"
  rc=99
fi
if [ "$rc" = 0 ]; then echo "REAL_KERNEL: PASS"; else echo "REAL_KERNEL: FAIL (exit $rc)"; fi
sync
poweroff -f
EOF
chmod +x "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet >"$WORK/initrd.cpio")
log "initramfs $(($(stat -c %s "$WORK/initrd.cpio") / 1048576)) MiB"

# --- boot --------------------------------------------------------------------------------------
boot() {
  local out=$1
  timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 -accel "tcg,thread=${REAL_KERNEL_TCG_THREAD:-single}" -m "$MEM" -smp 2 -cpu max \
    -kernel "$VMLINUZ" -initrd "$WORK/initrd.cpio" \
    -append "console=ttyS0 quiet panic=-1 rdinit=/init" \
    -nographic -no-reboot -nodefaults -serial stdio -display none </dev/null |
    tee "$out" || true
}
verdict=""
for attempt in 1 2; do
  log "booting $KVER (attempt $attempt, timeout ${TIMEOUT}s)"
  boot "$CONSOLE"
  verdict=$(grep -a -o 'REAL_KERNEL: [A-Z]*' "$CONSOLE" | tail -n1 || true)
  [ -n "$verdict" ] && break
  cp "$CONSOLE" "$CACHE/console-$SEL.attempt$attempt.log"
  if grep -a -q '^GUEST: kernel' "$CONSOLE"; then
    why="no verdict: the guest's init started, then stopped or timed out"
  else
    why="early boot failure: the kernel never reached init (panic or timeout)"
  fi
  log "attempt $attempt: $why; console: $CACHE/console-$SEL.attempt$attempt.log"
  echo "REAL_KERNEL-RETRY: attempt $attempt on $KVER: $why"
done
# Keep the probe's recordings of the real driver's answers (for testdata/ updates), per kernel.
for tag in PROBE-JSON ZC-JSON MATRIX-JSON; do
  if grep -a -q "^$tag " "$CONSOLE"; then
    grep -a "^$tag " "$CONSOLE" | tail -n1 | sed "s/^$tag //" | tr -d '\r' \
      >"$CACHE/${tag%-JSON}-recording-$KVER.json"
    log "recording ($tag): $CACHE/${tag%-JSON}-recording-$KVER.json"
  fi
done
log "done on $KVER: ${verdict:-no verdict}"
case "$verdict" in
  "REAL_KERNEL: PASS") exit 0 ;;
  "REAL_KERNEL: FAIL") exit 1 ;;
  *) exit 2 ;;
esac
