import assert from "node:assert/strict";
import { fsTypeOf } from "@ublk-ts/ring";
import { NativeBackend } from "@ublk-ts/native";
import { ignore } from "./_test_util.ts";

// The file system of a backend file comes from fstatfs(2)'s f_type (issue #14: io-wq punts by
// file system): /tmp is ext4 and /dev/shm tmpfs on this machine and in CI.
for (const [dir, want] of [["/tmp", "ext4"], ["/dev/shm", "tmpfs"]] as const) {
  Deno.test({
    name: `NativeBackend files know their file system from fstatfs: ${dir} is ${want}`,
    ignore: ignore || fsTypeOf(dir) !== want,
  }, () => {
    const path = `${dir}/ublk-ts-fstype-${Deno.pid}`;
    const b = new NativeBackend();
    try {
      const f = b.open(path, 0o102, 0o600); // O_RDWR | O_CREAT
      assert.ok(typeof f !== "number", `open ${path}`);
      assert.equal(f.fsType, want);
      b.close(f);
    } finally {
      Deno.removeSync(path);
      b.close();
    }
  });
}
