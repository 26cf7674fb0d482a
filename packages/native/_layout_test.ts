import assert from "node:assert/strict";
import {
  FILES_UPDATE,
  GETEVENTS_ARG,
  IOVEC,
  LIBURING_RING,
  PARAMS,
  POLLFD,
  POLLIN,
  RSRC_REGISTER,
  RSRC_UPDATE2,
  STAT,
} from "./_layout.ts";

const SRC = `
#include <liburing.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <poll.h>
#define O(s, f) printf("%s.%s %zu\\n", #s, #f, offsetof(struct s, f))
#define S(s) printf("%s %zu\\n", #s, sizeof(struct s))
int main(void) {
  S(io_uring); O(io_uring, sq.khead); O(io_uring, sq.ktail); O(io_uring, sq.kring_mask);
  O(io_uring, sq.kring_entries); O(io_uring, sq.kflags); O(io_uring, sq.kdropped);
  O(io_uring, sq.array); O(io_uring, sq.sqes); O(io_uring, sq.sqe_head); O(io_uring, sq.sqe_tail);
  O(io_uring, sq.ring_sz); O(io_uring, sq.ring_ptr); O(io_uring, sq.ring_mask);
  O(io_uring, sq.ring_entries); O(io_uring, cq.khead); O(io_uring, cq.ktail);
  O(io_uring, cq.koverflow); O(io_uring, cq.cqes); O(io_uring, cq.ring_sz);
  O(io_uring, cq.ring_ptr); O(io_uring, cq.ring_mask); O(io_uring, cq.ring_entries);
  O(io_uring, flags); O(io_uring, ring_fd); O(io_uring, features); O(io_uring, enter_ring_fd);
  O(io_uring, int_flags);
  S(io_uring_params); O(io_uring_params, sq_entries); O(io_uring_params, cq_entries);
  O(io_uring_params, flags); O(io_uring_params, sq_thread_cpu); O(io_uring_params, sq_thread_idle);
  O(io_uring_params, features); O(io_uring_params, wq_fd); O(io_uring_params, sq_off);
  O(io_uring_params, cq_off);
  S(io_uring_getevents_arg); O(io_uring_getevents_arg, sigmask);
  O(io_uring_getevents_arg, sigmask_sz); O(io_uring_getevents_arg, ts);
  S(io_uring_rsrc_register); O(io_uring_rsrc_register, nr); O(io_uring_rsrc_register, flags);
  O(io_uring_rsrc_register, data); O(io_uring_rsrc_register, tags);
  S(io_uring_rsrc_update2); O(io_uring_rsrc_update2, offset); O(io_uring_rsrc_update2, data);
  O(io_uring_rsrc_update2, tags); O(io_uring_rsrc_update2, nr);
  S(io_uring_files_update); O(io_uring_files_update, offset); O(io_uring_files_update, fds);
  S(iovec); O(iovec, iov_base); O(iovec, iov_len);
  S(stat); O(stat, st_size);
  S(pollfd); O(pollfd, fd); O(pollfd, events); O(pollfd, revents);
  printf("POLLIN %d\\n", POLLIN);
  return 0;
}
`;

async function cOffsets(): Promise<Map<string, number> | string> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/l.c`, SRC);
    let cc;
    try {
      cc = await new Deno.Command("gcc", { args: [`${dir}/l.c`, "-o", `${dir}/l`] }).output();
    } catch (e) {
      return `gcc not runnable: ${(e as Error).message}`;
    }
    if (!cc.success) return `gcc failed: ${new TextDecoder().decode(cc.stderr)}`;
    const out = await new Deno.Command(`${dir}/l`).output();
    const map = new Map<string, number>();
    for (const line of new TextDecoder().decode(out.stdout).trim().split("\n")) {
      const [k, v] = line.split(" ");
      map.set(k!, Number(v));
    }
    return map;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const C = await cOffsets();
const ignore = typeof C === "string";
if (ignore) console.error(`skipping layout tests: ${C}`);
const c = (k: string): number => {
  const v = (C as Map<string, number>).get(k);
  assert.notEqual(v, undefined, k);
  return v!;
};

Deno.test({ name: "`LIBURING_RING` matches liburing's struct io_uring", ignore }, () => {
  const L = LIBURING_RING;
  assert.equal(L.SIZE, c("io_uring"));
  const pairs: [number, string][] = [
    [L.SQ_KHEAD, "sq.khead"],
    [L.SQ_KTAIL, "sq.ktail"],
    [L.SQ_KRING_MASK, "sq.kring_mask"],
    [L.SQ_KRING_ENTRIES, "sq.kring_entries"],
    [L.SQ_KFLAGS, "sq.kflags"],
    [L.SQ_KDROPPED, "sq.kdropped"],
    [L.SQ_ARRAY, "sq.array"],
    [L.SQ_SQES, "sq.sqes"],
    [L.SQ_SQE_HEAD, "sq.sqe_head"],
    [L.SQ_SQE_TAIL, "sq.sqe_tail"],
    [L.SQ_RING_SZ, "sq.ring_sz"],
    [L.SQ_RING_PTR, "sq.ring_ptr"],
    [L.SQ_RING_MASK, "sq.ring_mask"],
    [L.SQ_RING_ENTRIES, "sq.ring_entries"],
    [L.CQ_KHEAD, "cq.khead"],
    [L.CQ_KTAIL, "cq.ktail"],
    [L.CQ_KOVERFLOW, "cq.koverflow"],
    [L.CQ_CQES, "cq.cqes"],
    [L.CQ_RING_SZ, "cq.ring_sz"],
    [L.CQ_RING_PTR, "cq.ring_ptr"],
    [L.CQ_RING_MASK, "cq.ring_mask"],
    [L.CQ_RING_ENTRIES, "cq.ring_entries"],
    [L.FLAGS, "flags"],
    [L.RING_FD, "ring_fd"],
    [L.FEATURES, "features"],
    [L.ENTER_RING_FD, "enter_ring_fd"],
    [L.INT_FLAGS, "int_flags"],
  ];
  for (const [ours, field] of pairs) assert.equal(ours, c(`io_uring.${field}`), field);
});

Deno.test({ name: "`PARAMS` matches struct io_uring_params", ignore }, () => {
  assert.equal(PARAMS.SIZE, c("io_uring_params"));
  assert.equal(PARAMS.SQ_ENTRIES, c("io_uring_params.sq_entries"));
  assert.equal(PARAMS.CQ_ENTRIES, c("io_uring_params.cq_entries"));
  assert.equal(PARAMS.FLAGS, c("io_uring_params.flags"));
  assert.equal(PARAMS.SQ_THREAD_CPU, c("io_uring_params.sq_thread_cpu"));
  assert.equal(PARAMS.SQ_THREAD_IDLE, c("io_uring_params.sq_thread_idle"));
  assert.equal(PARAMS.FEATURES, c("io_uring_params.features"));
  assert.equal(PARAMS.WQ_FD, c("io_uring_params.wq_fd"));
  assert.equal(PARAMS.SQ_OFF, c("io_uring_params.sq_off"));
  assert.equal(PARAMS.CQ_OFF, c("io_uring_params.cq_off"));
});

Deno.test({ name: "register/enter argument layouts match the C structs", ignore }, () => {
  assert.equal(GETEVENTS_ARG.SIZE, c("io_uring_getevents_arg"));
  assert.equal(GETEVENTS_ARG.SIGMASK, c("io_uring_getevents_arg.sigmask"));
  assert.equal(GETEVENTS_ARG.SIGMASK_SZ, c("io_uring_getevents_arg.sigmask_sz"));
  assert.equal(GETEVENTS_ARG.TS, c("io_uring_getevents_arg.ts"));
  assert.equal(RSRC_REGISTER.SIZE, c("io_uring_rsrc_register"));
  assert.equal(RSRC_REGISTER.NR, c("io_uring_rsrc_register.nr"));
  assert.equal(RSRC_REGISTER.FLAGS, c("io_uring_rsrc_register.flags"));
  assert.equal(RSRC_REGISTER.DATA, c("io_uring_rsrc_register.data"));
  assert.equal(RSRC_REGISTER.TAGS, c("io_uring_rsrc_register.tags"));
  assert.equal(RSRC_UPDATE2.SIZE, c("io_uring_rsrc_update2"));
  assert.equal(RSRC_UPDATE2.OFFSET, c("io_uring_rsrc_update2.offset"));
  assert.equal(RSRC_UPDATE2.DATA, c("io_uring_rsrc_update2.data"));
  assert.equal(RSRC_UPDATE2.TAGS, c("io_uring_rsrc_update2.tags"));
  assert.equal(RSRC_UPDATE2.NR, c("io_uring_rsrc_update2.nr"));
  assert.equal(FILES_UPDATE.SIZE, c("io_uring_files_update"));
  assert.equal(FILES_UPDATE.OFFSET, c("io_uring_files_update.offset"));
  assert.equal(FILES_UPDATE.FDS, c("io_uring_files_update.fds"));
  assert.equal(IOVEC.SIZE, c("iovec"));
  assert.equal(IOVEC.BASE, c("iovec.iov_base"));
  assert.equal(IOVEC.LEN, c("iovec.iov_len"));
  assert.equal(STAT.SIZE, c("stat"));
  assert.equal(STAT.ST_SIZE, c("stat.st_size"));
  assert.equal(POLLFD.SIZE, c("pollfd"));
  assert.equal(POLLFD.FD, c("pollfd.fd"));
  assert.equal(POLLFD.EVENTS, c("pollfd.events"));
  assert.equal(POLLFD.REVENTS, c("pollfd.revents"));
  assert.equal(POLLIN, c("POLLIN"));
});
