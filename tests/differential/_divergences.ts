/**
 * Differences between the model kernel and the real io_uring (Linux 6.18, tmpfs files) that
 * are still open, and the ones found and fixed. Each names the model file and behaviour at fault and what the real kernel
 * does; the suite accepts exactly these differences on exactly these corpus programs, and
 * reports when one is no longer observed (then delete it here).
 *
 * @module
 */

/** One known divergence. */
export interface Divergence {
  /** Stable id. */
  id: string;
  /** Corpus programs it explains. */
  programs: string[];
  /** Difference kinds it may produce (see `Difference.kind`). */
  kinds: string[];
  /** The model side: file and behaviour. */
  model: string;
  /** What the real kernel (6.18) does. */
  kernel: string;
}

/** The open divergences, kernel 6.18.44, files on /dev/shm (tmpfs). */
export const DIVERGENCES: Divergence[] = [];

/**
 * Divergences this suite found and `@ublk-ts/ring` has since fixed (ring commit 32e20b4): kept
 * as a record; their corpus programs are now compared strictly.
 */
export const FIXED_DIVERGENCES: Divergence[] = [
  {
    // Found by the generator once it put drains mid-program (seed 1765634896 index 349):
    // the real kernel was the side that timed out. Fixed with the generator change.
    id: "send-zc-deferred-by-drain",
    programs: ["send_zc deferred by a drain never runs"],
    kinds: ["cqes", "timeout"],
    model: "packages/ring/ops_net.ts (SEND_ZC) with model_ring.ts drain accounting: the " +
      "notification request of a SEND_ZC was not counted as alive, so a SEND_ZC deferred by a " +
      "drain ran once the requests before it completed and posted its result and notification",
    kernel: "io_send_zc_prep allocates the notification (io_alloc_notif: nr_req_allocated) but " +
      "io_queue_deferred runs deferred requests only when nr_req_allocated equals nr_drained " +
      "(link members only): a SEND_ZC deferred by a drain (ctx->drain_active stays set until a " +
      "later non-drain request passes the defer list) never runs and posts nothing",
  },
  {
    id: "drain-first-request",
    programs: [
      "drain as the first request orders later ones",
      "drain with nothing in flight in a later submit",
    ],
    kinds: ["order"],
    model: "packages/ring/model_ring.ts (drain): when an IO_DRAIN request has nothing in flight " +
      "to wait for, it is queued (task work / deferred issue) while the requests submitted after " +
      "it are issued inline, so their CQEs come first (order 2,3,1)",
    kernel: "requests after a drain request start only once it completed (ctx->drain_active, " +
      "drain_next), also when the drain request itself had nothing to wait for: order 1,2,3",
  },
  {
    id: "rw-len-beyond-buffer",
    programs: ["read with len over 2 GiB near EOF"],
    kinds: ["cqes", "buf"],
    model: "packages/ring/ops_rw.ts: READ/WRITE resolve the whole [addr, addr+len) in the " +
      "address space before issuing and fail -EFAULT when len runs past the buffer",
    kernel: "len is clamped to MAX_RW_COUNT and only the bytes actually copied must be mapped: a " +
      "READ of len 2^31 into a 128-byte buffer of a 100-byte file completes with 100",
  },
  {
    id: "fallocate-zero-range-tmpfs",
    programs: ["fallocate zero range"],
    kinds: ["cqes", "file"],
    model:
      "packages/ring/sync_backend.ts: fallocate(FALLOC_FL_ZERO_RANGE) is emulated by writing " +
      "zeros and returns 0 on every file system",
    kernel:
      "tmpfs (shmem_fallocate) supports only KEEP_SIZE and PUNCH_HOLE: ZERO_RANGE completes " +
      "-EOPNOTSUPP and the file is unchanged (ext4/xfs would accept it)",
  },
  {
    id: "fallocate-error-not-failure",
    programs: [
      "fallocate failure does not break a link",
      "fallocate failure with skip success posts nothing",
    ],
    kinds: ["cqes"],
    model: "packages/ring/ops_misc.ts (FALLOCATE) with model_ring.ts completeReq: a negative " +
      "result fails the request, so it breaks its link (-ECANCELED for the rest) and its CQE is " +
      "posted despite IOSQE_CQE_SKIP_SUCCESS",
    kernel: "io_fallocate only sets the result and never calls req_set_fail(): an error " +
      "(-EINVAL for len 0, -EOPNOTSUPP for unsupported modes) does not break IO_LINK (the next " +
      "request runs: res 0) and with CQE_SKIP_SUCCESS no CQE is posted at all",
  },
  {
    id: "rwf-nowait-tmpfs",
    programs: ["read with RWF_NOWAIT on cached data"],
    kinds: ["cqes", "buf"],
    model: "packages/ring/ops_rw.ts: READ with rw_flags RWF_NOWAIT is served like a plain read " +
      "(res 4096)",
    kernel: "a file without FMODE_NOWAIT support (tmpfs here) fails RWF_NOWAIT with -EOPNOTSUPP " +
      "even when the data is cached",
  },
  {
    id: "rwf-hipri-buffered",
    programs: ["read with RWF_HIPRI on a buffered file"],
    kinds: ["cqes", "buf"],
    model: "packages/ring/ops_rw.ts: READ with rw_flags RWF_HIPRI is served like a plain read",
    kernel: "RWF_HIPRI on a ring without IORING_SETUP_IOPOLL, on a buffered tmpfs file, " +
      "completes -EINVAL",
  },
  {
    id: "buffer-select-without-buffers",
    programs: ["read with buffer select and no provided buffers"],
    kinds: ["cqes"],
    model: "packages/ring (ops_rw.ts / op table): IOSQE_BUFFER_SELECT on READ completes " +
      "-EOPNOTSUPP",
    kernel: "READ supports buffer select; with no buffer group provided it completes -ENOBUFS",
  },
  {
    id: "drain-later-requests",
    programs: ["drain orders completions"],
    kinds: ["order"],
    model: "packages/ring/model_ring.ts: requests submitted after an IO_DRAIN request run before " +
      "it completes (CQE order 1,2,4,3)",
    kernel:
      "once a drain is pending every later request is deferred behind it (ctx->drain_active): " +
      "CQE order 1,2,3,4",
  },
  {
    id: "recv-dontwait-parks",
    programs: ["recv dontwait on an empty socket"],
    kinds: ["cqes", "timeout"],
    model: "packages/ring/ops_net.ts (MemSocket.recv): RECV with MSG_DONTWAIT on an empty socket " +
      "waits for data and never completes",
    kernel: "RECV with MSG_DONTWAIT on an empty socket completes at once with -EAGAIN (no poll " +
      "is armed)",
  },
  {
    id: "recv-sock-nonempty",
    programs: ["recv waitall gathers two sends"],
    kinds: ["cqes"],
    model: "packages/ring/ops_net.ts: RECV never sets IORING_CQE_F_SOCK_NONEMPTY",
    kernel: "RECV sets IORING_CQE_F_SOCK_NONEMPTY (flags 4) when data is left in the socket " +
      "after the receive (80 of 100 bytes read: res 80, flags 4)",
  },
];

/** The divergence that covers `program`, if any. */
export function divergenceFor(program: string): Divergence | undefined {
  return DIVERGENCES.find((d) => d.programs.includes(program));
}
