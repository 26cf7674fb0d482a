/**
 * The help texts of the `ublk` CLI, one per command. They describe what each command really does
 * in this implementation: the ublk driver is a model that lives inside the `ublk` process, so a
 * device exists only while the process that created it runs.
 *
 * @module
 */

/** The CLI's version. */
export const VERSION = "0.1.0";

/** `ublk --help`. */
export const MAIN_HELP: string =
  `ublk ${VERSION} — ublk devices with io_uring fused-command zero copy (model kernel)

Usage: ublk <command> [options]

Commands:
  run       create a device, serve it in this process, run a workload against
            its block device with a progress line, print IOPS and bandwidth,
            then delete the device (also on Ctrl-C)
  bench     run the same workload in copy mode and with zero copy (-z) on fresh
            devices, and print both figures and their ratio
  add       create a device in this process's model kernel, print it, and keep
            serving it until Ctrl-C (nothing outside the process can reach it)
  list      list devices: model devices exist only inside a running ublk
            process, so a new process has none; real devices would be listed
            from /dev/ublk-control, which this kernel does not have
  del       delete a device by id (-n ID or -a): only meaningful inside the
            process that created it, so from a new process it reports ENODEV
  features  print the ublk driver's feature flags (UBLK_U_CMD_GET_FEATURES) of
            the model driver, and of the real driver if /dev/ublk-control exists

Options:
  -h, --help     show this help; 'ublk <command> --help' shows a command's options
  -V, --version  print the version

Exit status: 0 success, 1 failure, 2 usage error, 130 interrupted by Ctrl-C.
`;

const DEVICE_OPTIONS = `Device options:
  -t, --type TYPE       target: null, loop or nbd (required)
  -q, --queues N        hardware queues (default 1)
  -d, --depth N         tags per queue (default 128)
  -z, --zero-copy       zero copy: serve data with IORING_OP_FUSED_CMD
                        (master UBLK_IO_FUSED_SUBMIT_IO + slave READ/WRITE/SEND/RECV)
      --native          the model's data ops run on the real io_uring (liburing)
                        instead of positional syscalls; ublk itself stays modelled
      --size SIZE       null target: device size (default 250g)

Loop target:
  -f, --file FILE       backing file; its size (a multiple of 512) is the device size
      --buffered-io     use the page cache (default O_DIRECT, as ublksrv)

NBD target:
      --host HOST       NBD server host (loopback only on this machine)
      --port PORT       NBD server port (default 10809)
      --unix PATH       NBD server Unix socket, instead of --host/--port
      --export-name N   export name (default "")
      --send-zc         with -z over TCP: WRITE payloads go out with SEND_ZC
                        instead of SEND (AF_UNIX has no SEND_ZC)
`;

/** `ublk run --help`. */
export const RUN_HELP: string = `Usage: ublk run -t TYPE [options] [--bench SPEC]

Creates a ublk device in this process's model kernel (ModelKernel with the ublk
driver and IORING_OP_FUSED_CMD installed), starts the target's server in-process,
runs a workload against the device's block device (/dev/ublkbN of the model) with
a progress line on stderr, prints the result on stdout, and deletes the device.
Ctrl-C stops the workload early, prints what was measured, deletes the device and
exits with status 130.

${DEVICE_OPTIONS}
Workload:
      --bench SPEC      comma-separated key=value (default rw=randread,bs=4k,qd=32,n=50000)
                          rw=read|write|randread|randwrite|rw|randrw|verify
                          bs=SIZE  qd=N  n=COUNT  time=DURATION (5s, 250ms)
                          size=SIZE (region from offset 0)  rwmixread=PCT  seed=N
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

Runs the workload twice, each time on a fresh device: first in copy mode, then with
zero copy (-z), and prints both figures and the ratio zero-copy / copy. Takes every
option of 'ublk run' except -z.

${DEVICE_OPTIONS}
      --bench SPEC      the workload (default rw=read,bs=512k,qd=16,time=3s)
      --rounds N        run copy and zero copy alternately N times (default 1) and
                        report the best run of each; rounds go to stderr
      --json            print the results as JSON
  -h, --help            show this help
`;

/** `ublk add --help`. */
export const ADD_HELP: string = `Usage: ublk add -t TYPE [options]

Creates a device in this process's model kernel and prints it as 'ublk list' would,
then keeps serving it until Ctrl-C, when it deletes it. The model kernel lives in
this process: no other process can open the device. Use 'ublk run' to put a
workload on a device.

${DEVICE_OPTIONS}
      --no-wait         delete the device right after printing it
  -h, --help            show this help
`;

/** `ublk list --help`. */
export const LIST_HELP: string = `Usage: ublk list [-n ID] [-v]

Lists ublk devices. Devices of the model driver exist only inside the ublk process
that created them ('ublk add' or 'ublk run'), so a new process has none to show.
Real ublk devices would be read from /dev/ublk-control; this machine's kernel has
no ublk driver, which the output says.

  -n, --number ID   only this device
  -v, --verbose     more detail
  -h, --help        show this help
`;

/** `ublk del --help`. */
export const DEL_HELP: string = `Usage: ublk del -n ID | -a

Deletes a ublk device. Model devices belong to the process that created it and are
deleted when it ends (or on Ctrl-C); from a new process there is nothing to delete,
so this reports ENODEV (exit 1).

  -n, --number ID   the device id
  -a, --all         every device
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
