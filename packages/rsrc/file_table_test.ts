import assert from "node:assert/strict";
import { EBADF, EBUSY, EINVAL, EMFILE, ENFILE, ENXIO } from "@ublk-ts/uapi";
import {
  FILES_SPARSE_FD,
  FileTable,
  type FixedFile,
  IORING_MAX_FIXED_FILES,
  IORING_REGISTER_FILES_SKIP,
} from "./file_table.ts";

interface File {
  fd: number;
  refs: number;
}

/** A process fd table of fds 3..9 whose files count references like fget/fput. */
function harness(options?: { maxFiles?: number }): {
  t: FileTable<File>;
  files: Map<number, File>;
  freed: [File, number][];
} {
  const files = new Map<number, File>();
  for (let fd = 3; fd < 10; fd++) files.set(fd, { fd, refs: 0 });
  const freed: [File, number][] = [];
  const t = new FileTable<File>({
    resolve: (fd) => {
      const f = files.get(fd);
      if (f === undefined) return null;
      f.refs++;
      return f;
    },
    onFree: (f, i) => {
      f.refs--;
      freed.push([f, i]);
    },
    ...options,
  });
  return { t, files, freed };
}

function ok<T>(x: T | number): T {
  if (typeof x === "number") throw new assert.AssertionError({ message: `got errno ${x}` });
  return x;
}

Deno.test("`FileTable.register()` resolves fds and leaves -1 slots empty", () => {
  const { t, files } = harness();
  assert.equal(t.register([3, FILES_SPARSE_FD, 4]), 0);
  assert.equal(t.nr, 3);
  assert.equal(t.registered, true);
  assert.equal(t.liveCount, 2);
  assert.equal(ok(t.lookup(0)).value, files.get(3));
  assert.equal(ok(t.lookup(2)).value.fd, 4);
  assert.equal(ok(t.lookup(2)).index, 2);
  assert.equal(t.lookup(1), -EBADF);
  assert.equal(files.get(3)!.refs, 1);
});

Deno.test("`FileTable.register()` errors: -EBUSY, -EINVAL for 0, -EMFILE over max", () => {
  const { t } = harness({ maxFiles: 4 });
  assert.equal(t.register([]), -EINVAL);
  assert.equal(t.register([-1, -1, -1, -1, -1]), -EMFILE);
  assert.equal(t.registerSparse(5), -EMFILE);
  assert.equal(t.registerSparse(0), -EINVAL);
  assert.equal(t.register([-1, -1, -1, -1]), 0);
  assert.equal(t.register([3]), -EBUSY);
  assert.equal(t.registerSparse(1), -EBUSY);
});

Deno.test("`FileTable` default max is IORING_MAX_FIXED_FILES", () => {
  const { t } = harness();
  assert.equal(t.registerSparse(IORING_MAX_FIXED_FILES + 1), -EMFILE);
  assert.equal(t.registerSparse(IORING_MAX_FIXED_FILES), 0);
  assert.equal(t.nr, 1 << 20);
  assert.throws(() => new FileTable({ resolve: () => null, maxFiles: 0 }), RangeError);
  assert.throws(
    () => new FileTable({ resolve: () => null, maxFiles: IORING_MAX_FIXED_FILES + 1 }),
    RangeError,
  );
});

Deno.test("`FileTable.register()` fails whole with -EBADF and releases resolved files", () => {
  const { t, files, freed } = harness();
  assert.equal(t.register([3, 4, 99]), -EBADF);
  assert.equal(t.registered, false);
  assert.equal(t.liveCount, 0);
  assert.equal(freed.length, 2);
  assert.equal(files.get(3)!.refs, 0);
  assert.equal(files.get(4)!.refs, 0);
  assert.equal(t.register([3, IORING_REGISTER_FILES_SKIP]), -EBADF); // -2 only means skip in update
  assert.equal(t.register([-3]), -EBADF);
  assert.equal(t.register([3]), 0);
});

Deno.test("`FileTable.lookup()` gives -EBADF out of range, empty, or unregistered", () => {
  const { t } = harness();
  assert.equal(t.lookup(0), -EBADF);
  assert.equal(t.registerSparse(2), 0);
  assert.equal(t.lookup(0), -EBADF);
  assert.equal(t.lookup(2), -EBADF);
  assert.equal(t.lookup(-1), -EBADF);
  assert.equal(t.get(2), -EBADF);
});

Deno.test("`FileTable.update()` skips -2, clears -1, installs fds, returns the count", () => {
  const { t, files, freed } = harness();
  assert.equal(t.register([3, -1, 4]), 0);
  assert.equal(t.update(0, [IORING_REGISTER_FILES_SKIP, 5, -1]), 3);
  assert.equal(ok(t.lookup(0)).value.fd, 3);
  assert.equal(ok(t.lookup(1)).value.fd, 5);
  assert.equal(t.lookup(2), -EBADF);
  assert.deepEqual(freed, [[files.get(4), 2]]);
  assert.equal(files.get(4)!.refs, 0);
  assert.equal(t.liveCount, 2);
});

Deno.test("`FileTable.update()` errors in the kernel's order and partial updates", () => {
  const { t } = harness();
  assert.equal(t.update(0, []), -EINVAL);
  assert.equal(t.update(0, [3]), -ENXIO);
  assert.equal(t.registerSparse(3), 0);
  assert.equal(t.update(2, [3, 3]), -EINVAL);
  assert.equal(t.update(0, [3, 99]), 1);
  assert.equal(ok(t.lookup(0)).value.fd, 3);
  assert.equal(t.update(1, [99]), -EBADF);
  assert.equal(t.update(1, [-3]), -EBADF);
  assert.equal(t.lookup(1), -EBADF);
});

Deno.test("`FileTable.unregister()` gives -ENXIO with nothing registered and frees files", () => {
  const { t, files } = harness();
  assert.equal(t.unregister(), -ENXIO);
  assert.equal(t.register([3, 3]), 0);
  assert.equal(files.get(3)!.refs, 2);
  assert.equal(t.unregister(), 0);
  assert.equal(files.get(3)!.refs, 0);
  assert.equal(t.liveCount, 0);
  assert.equal(t.unregister(), -ENXIO);
});

Deno.test("`FileTable.get()` keeps a file alive across unregister and update until `put()`", () => {
  const { t, files, freed } = harness();
  assert.equal(t.register([3, 4]), 0);
  const a: FixedFile<File> = ok(t.get(0));
  const b = ok(t.get(1));
  assert.equal(a.refs, 2);
  assert.equal(t.update(1, [5]), 1);
  assert.equal(files.get(4)!.refs, 1); // still held by the request
  assert.equal(t.unregister(), 0);
  assert.equal(files.get(3)!.refs, 1);
  assert.equal(files.get(5)!.refs, 0);
  assert.equal(t.liveCount, 2);
  t.put(a);
  t.put(b);
  assert.equal(t.liveCount, 0);
  assert.equal(files.get(3)!.refs, 0);
  assert.equal(files.get(4)!.refs, 0);
  assert.deepEqual(freed.map(([f, i]) => [f.fd, i]), [[5, 1], [3, 0], [4, 1]]);
  assert.throws(() => t.put(a), RangeError);
});

Deno.test("`FileTable.install()` and `remove()` manage direct descriptors", () => {
  const { t, freed } = harness();
  const f = { fd: 100, refs: 1 };
  assert.equal(t.install(0, f), -ENXIO);
  assert.equal(t.remove(0), -ENXIO);
  assert.equal(t.registerSparse(2), 0);
  assert.equal(t.install(2, f), -EINVAL);
  assert.equal(t.install(1, f), 0);
  assert.equal(ok(t.lookup(1)).value, f);
  assert.equal(t.remove(0), -EBADF);
  assert.equal(t.remove(2), -EINVAL);
  assert.equal(t.remove(1), 0);
  assert.deepEqual(freed, [[f, 1]]);
  assert.equal(t.lookup(1), -EBADF);
});

Deno.test("`FileTable.installAlloc()` takes free slots round robin and gives -ENFILE when full", () => {
  const { t } = harness();
  const f = { fd: 100, refs: 1 };
  assert.equal(t.installAlloc(f), -ENFILE);
  assert.equal(t.register([-1, 3, -1]), 0);
  assert.equal(t.installAlloc(f), 0);
  assert.equal(t.installAlloc(f), 2);
  assert.equal(t.installAlloc(f), -ENFILE);
  assert.equal(t.remove(0), 0);
  assert.equal(t.installAlloc(f), 0);
  assert.equal(ok(t.lookup(0)).index, 0);
});

Deno.test("`FileTable` works with number file objects (no errno ambiguity)", () => {
  const t = new FileTable<number>({ resolve: (fd) => (fd < 5 ? fd + 1000 : null) });
  assert.equal(t.register([0, 4]), 0);
  assert.equal(ok(t.lookup(0)).value, 1000);
  assert.equal(ok(t.lookup(1)).value, 1004);
});

Deno.test("`FileTable.close()` unregisters, is safe twice, and backs `using`", () => {
  const { t, files } = harness();
  {
    using u = t;
    assert.equal(u.register([3, 4]), 0);
  }
  assert.equal(t.registered, false);
  assert.equal(files.get(3)!.refs, 0);
  t.close();
  assert.equal(t.liveCount, 0);
});
