import assert from "node:assert/strict";
import { fsTypeOf, fsTypeOfMagic } from "@ublk-ts/ring";
import { SyncBackend } from "./sync_backend.ts";

Deno.test("fsTypeOfMagic() names the statfs magics of include/uapi/linux/magic.h", () => {
  assert.equal(fsTypeOfMagic(0x01021994), "tmpfs");
  assert.equal(fsTypeOfMagic(0xef53), "ext4");
  assert.equal(fsTypeOfMagic(0x58465342), "xfs");
  assert.equal(fsTypeOfMagic(0x12345678), "");
});

// /tmp is ext4 and /dev/shm tmpfs on this machine and in CI; the sync backend asks fstatfs(2).
for (const [dir, want] of [["/tmp", "ext4"], ["/dev/shm", "tmpfs"]] as const) {
  Deno.test({
    name: `SyncBackend files know their file system from fstatfs: ${dir} is ${want}`,
    ignore: fsTypeOf(dir) !== want,
  }, () => {
    const path = `${dir}/ublk-ts-fstype-sync-${Deno.pid}`;
    const b = new SyncBackend();
    try {
      const f = b.open(path, 0o102, 0o600);
      assert.ok(typeof f !== "number", `open ${path}`);
      assert.equal((f as { fsType: string }).fsType, want);
      b.close(f);
    } finally {
      Deno.removeSync(path);
    }
  });
}
