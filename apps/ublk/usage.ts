/**
 * The help texts of the `ublk` CLI, one per command. They describe what each command really does
 * in this implementation: `add` starts a daemon per device (on the real ublk driver where
 * `/dev/ublk-control` exists, else in the daemon's model kernel, exported over NBD).
 *
 * @module
 */

import { legTargetHelp } from "./legs.ts";

/** The CLI's version. */
export const VERSION = "0.1.0";

/** `ublk --help`. */
export const MAIN_HELP: string =
  `ublk ${VERSION} — ublk devices with io_uring fused-command zero copy

Usage: ublk <command> [options]

Commands:
  add       create a device served by its own daemon and return once it is live:
            on the real ublk driver where /dev/ublk-control exists (/dev/ublkbN),
            else in the daemon's model kernel, exported over NBD (a Unix socket in
            the run directory, or --export tcp:127.0.0.1:PORT) for qemu-img,
            nbdinfo, nbdcopy, fio --ioengine=nbd…
  list      list the devices of the run directory (--json: one JSON array), with
            their state (LIVE, QUIESCED, FAIL_IO, DEAD) and daemon pid
  del       delete a device (-n ID) or every device (-a); a device whose daemon
            died is cleaned up
  recover   give a device whose server died a new one (USER_RECOVERY, add -r 1)
  mirror-add  re-add a leg to a mirror device and resync it in the background
  features  print the UBLK_F_* feature flags (UBLK_U_CMD_GET_FEATURES) of the model
            driver, and of the real driver where /dev/ublk-control exists
  run       create a device in this process, run a workload on it with a progress
            line, print IOPS and bandwidth, then delete it (also on Ctrl-C)
  bench     run the same workload in copy mode and with zero copy (-z) on fresh
            devices, and print both figures and their ratio
  help      'ublk help -t TYPE' describes a target's options

Options:
  -h, --help         show this help; 'ublk <command> --help' shows a command's options
  -v, -V, --version  print the version

Devices, records and sockets live in the run directory: /run/ublk-ts, or UBLK_RUN_DIR.
ublksrv's spellings work: --buffered_io is --buffered-io, and so on.

Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted (Ctrl-C or SIGTERM).
`;

function deviceOptions(withZeroCopy: boolean): string {
  return `Device options:
  -t, --type TYPE       target: null, loop, nbd, stripe, mirror or fault_inject
                        (required; ublk help -t TYPE)
  -q, --queues N        hardware queues (default 1; the driver grants at most
                        one per CPU and the output says when it did)
  -d, --depth N         tags per queue (default 128)
${
    withZeroCopy
      ? ""
      : BENCH_MODE_OPTIONS
  }      --native          the model's data ops run on the real io_uring (liburing)
                        instead of positional syscalls; ublk itself stays modelled
      --read-only       read-only device: loop opens its file O_RDONLY, writes
                        fail with EROFS and write workloads are refused
      --force           let a write workload (rw=write, randwrite, rw, randrw,
                        verify) overwrite a loop file that is not empty
      --size SIZE       null target: device size (default 250g)

${withZeroCopy ? DATA_MODE_OPTIONS + "\n" : ""}${LOOP_OPTIONS}
${NBD_OPTIONS}`;
}

const DATA_MODE_OPTIONS =
  `Data modes (default copy: the driver copies into the server's buffers; give one):
  -u, --user-copy       UBLK_F_USER_COPY (6.5+): the server copies with pread/pwrite
                        on /dev/ublkcN
  -z, --zero-copy       the best zero copy the kernel has: auto-buf-reg, else
                        register-buf, else (model only) the RFC's fused command;
                        refused with the reason when it has none
      --auto-zc         UBLK_F_AUTO_BUF_REG (6.16+): the driver registers each
                        request's pages in the queue's ring; READ_FIXED/WRITE_FIXED
      --auto-zc-fallback
                        --auto-zc with UBLK_AUTO_BUF_REG_FALLBACK (+ SUPPORT_ZERO_COPY):
                        a failed registration is done by the server instead
      --zc-mode MODE    register (UBLK_F_SUPPORT_ZERO_COPY, 6.15+: REGISTER_IO_BUF /
                        UNREGISTER_IO_BUF around READ_FIXED/WRITE_FIXED), auto,
                        auto-fallback, auto-forced-fallback (every request takes the
                        fallback, as kublk's null target under --auto_zc_fallback),
                        or fused (the 2023 RFC IORING_OP_FUSED_CMD: model only)
`;

const BENCH_MODE_OPTIONS =
  `      --zc-mode MODE    the zero-copy side: fused (default), register, auto,
                        auto-fallback or auto-forced-fallback
`;

const LOOP_OPTIONS = `Loop target:
  -f, --file FILE       backing file; its size (a multiple of 512) is the device size
      --buffered-io     use the page cache. Without it the loop target asks for
                        O_DIRECT (as ublksrv), which only the --native backend and
                        the real kernel honour; the default sync backend of the
                        model always goes through the page cache, and a file
                        system that refuses O_DIRECT gets buffered I/O too (the
                        device line says which one it got)`;

const NBD_OPTIONS = `NBD target:
      --host HOST       NBD server host (loopback only on this machine)
      --port PORT       NBD server port (default 10809)
      --unix PATH       NBD server Unix socket, instead of --host/--port
      --export-name N   export name (default "")
      --send-zc         with zero copy over TCP: WRITE payloads go out with SEND_ZC
                        instead of SEND (AF_UNIX has no SEND_ZC)
      --timeout SECS    fail an I/O the server has not answered in SECS (0 = never)
      --reconnect N     after a timeout or a dead connection, up to N attempts to
                        reconnect, in copy mode and with -z (requests in flight end
                        -EIO, later ones use the new connection; the dead one is
                        drained first, so a WRITE the server still held never lands
                        after a newer one); default 0`;

const WORKLOAD_KEYS = `                          rw=read|write|randread|randwrite|rw|randrw|verify
                          bs=SIZE  qd=N  n=COUNT  time=DURATION (5s, 250ms)
                          size=SIZE (region from offset 0, at most the device)
                          rwmixread=PCT (or rwmixwrite)  seed=N  numjobs=J
                          (J jobs of qd each: J x qd in flight)
                        fio's names work too: readwrite, blocksize, iodepth,
                        number_ios, runtime, randseed; each key at most once`;

/** `ublk help -t TYPE`. */
export function targetHelp(type: string): string | undefined {
  switch (type) {
    case "null":
      return `The null target: completes every request at once without data (reads return
whatever the buffer held). Options: --size SIZE (default 250g).

Example:  ublk add -t null --size 1g
`;
    case "loop":
      return `${LOOP_OPTIONS}
      --read-only       open the file O_RDONLY; the device is read-only

Make a file first, then add it:
  truncate -s 256M disk.img
  ublk add -t loop -f disk.img -z
`;
    case "nbd":
      return `${NBD_OPTIONS}
      --read-only       the device is read-only

Start an NBD server first (nbdkit, qemu-nbd), then add it:
  nbdkit -U /tmp/nbd.sock memory 256M
  ublk add -t nbd --unix /tmp/nbd.sock -z
`;
    default:
      return legTargetHelp(type);
  }
}

/** `ublk run --help`. */
export const RUN_HELP: string = `Usage: ublk run -t TYPE [options] [--bench SPEC]

Creates a ublk device in this process's model kernel (ModelKernel with the ublk
driver and IORING_OP_FUSED_CMD installed), starts the target's server in-process,
runs a workload against the device's block device (/dev/ublkbN of the model) with
a progress line on stderr, prints the result on stdout, and deletes the device.
Ctrl-C stops the workload early, prints what was measured, deletes the device and
exits with status 130.

${deviceOptions(true)}

Workload:
      --bench SPEC      comma-separated key=value (default rw=randread,bs=4k,qd=32,n=50000)
${WORKLOAD_KEYS}
                        verify runs the targets' integrity workload: n random
                        reads and writes (default 2000) of stamped sectors up
                        to bs bytes over the region (size, default 64m), then
                        reads the whole region back; it counts mismatching
                        sectors (time does not apply to verify)
      --json            print the result as one JSON object instead of a line
  -h, --help            show this help
`;

/** `ublk bench --help`. */
export const BENCH_HELP: string = `Usage: ublk bench -t TYPE [options] [--bench SPEC]

Runs the workload twice, each time on a fresh device: first in copy mode, then in
one zero-copy mode (--zc-mode, default fused), and prints both figures and the
ratio zero-copy / copy. Takes every option of 'ublk run' except the data modes
(-u, -z, --auto-zc, --auto-zc-fallback: it runs copy and --zc-mode).

${deviceOptions(false)}

      --bench SPEC      the workload (default rw=read,bs=512k,qd=16,time=3s)
${WORKLOAD_KEYS}
      --rounds N        run copy and zero copy alternately N times (default 1) and
                        report the best run of each; rounds go to stderr
      --json            print the results as JSON
  -h, --help            show this help
`;

/** `ublk add --help`. */
export const ADD_HELP: string =
  `Usage: ublk add -t TYPE [-n DEV_ID] [-q N] [-d DEPTH] [-u | -z | --auto-zc | -g]
                [-r 0|1 [-e 0|1 | -i 0|1]] [--read-only] [--foreground] [options]

Starts a daemon for a new device and returns once the device is live, printing it;
if the daemon fails, prints the daemon's error and exits 1. The daemon keeps
serving until 'ublk del'. Where /dev/ublk-control exists the device is a real
/dev/ublkbN served on native io_uring rings (open it with dd, fio, mkfs…);
elsewhere it lives in the daemon's model kernel and the daemon exports it over
NBD: 'ublk list --json' shows the URI (nbd+unix:///?socket=… or nbd://…).

  -n, --number ID       device id (default the lowest free one)
  -g, --need-get-data   UBLK_F_NEED_GET_DATA (copy mode only)
  -r, --recovery 0|1    UBLK_F_USER_RECOVERY: a dead daemon's device waits
                        (QUIESCED) for 'ublk recover -n ID'
  -e, --recovery-fail-io 0|1
                        with -r 1: fail I/O while no server runs (FAIL_IO)
  -i, --recovery-reissue 0|1
                        with -r 1: reissue the I/O the dead server held
      --foreground      serve in this process until Ctrl-C (exit 130) or del
      --export WHERE    model devices: unix (default, in the run directory),
                        unix:PATH, tcp:PORT or tcp:HOST:PORT (port 0: any)
      --model           use the model kernel even where /dev/ublk-control exists
      --json            print the device's record as JSON

${deviceOptions(true)}
  -h, --help            show this help

Examples:
  truncate -s 256M disk.img && ublk add -t loop -f disk.img -z
  ublk list --json
  nbdcopy "$(ublk list --json | jq -r '.[0].nbd')" copy.img
  ublk del -n 0
`;

/** `ublk list --help`. */
export const LIST_HELP: string = `Usage: ublk list [-n ID] [-v] [--json]

Lists the devices of the run directory (/run/ublk-ts or UBLK_RUN_DIR): id, state
(LIVE, QUIESCED, FAIL_IO; DEAD when the daemon is gone), target, size, queues,
kernel (model or real), daemon pid, and a model device's NBD URI.

  -n, --number ID   only this device
  -v, --verbose     more detail (asked of the daemon over its control socket)
      --json        one JSON array: dev_id, state, target, queues, depth, size,
                    flags, kernel, pid, nbd (model), path, alive
  -h, --help        show this help
`;

/** `ublk del --help`. */
export const DEL_HELP: string = `Usage: ublk del -n ID | -a [--async]

Deletes a device: its daemon stops and deletes it (STOP_DEV, DEL_DEV), removes its
record and exits. A device whose daemon died is cleaned up (its record removed, and
on the real driver the device deleted).

On the real driver STOP_DEV removes /dev/ublkbN at once (a program that still has it
open reads end of file: the disk's capacity is 0), but DEL_DEV returns only when
the last opener has closed it; del waits with it and says so every 5 s.

  -n, --number ID   the device id
  -a, --all         every device
      --async       do not wait for the daemon to finish (nor for openers)
  -h, --help        show this help
`;

/** `ublk recover --help`. */
export const RECOVER_HELP: string = `Usage: ublk recover -n ID

Gives a device added with -r 1 a new server (UBLK_F_USER_RECOVERY:
START_USER_RECOVERY, new queues, END_USER_RECOVERY). On the real driver, after its
daemon died (the device is QUIESCED or FAIL_IO), a new daemon takes it over. A
model device lives in its daemon's model kernel: while that daemon runs, its server
is replaced inside it; once it died, nothing is left to recover.

  -n, --number ID   the device id
  -h, --help        show this help
`;

/** `ublk features --help`. */
export const FEATURES_HELP: string = `Usage: ublk features [--json]

Prints the UBLK_F_* flags the model ublk driver reports for
UBLK_U_CMD_GET_FEATURES, by name and as a hex mask, and the same for the real
kernel's driver when /dev/ublk-control exists (it says so when it does not).

      --json        print JSON
  -h, --help        show this help
`;
