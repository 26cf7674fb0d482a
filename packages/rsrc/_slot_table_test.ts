import assert from "node:assert/strict";
import fc from "fast-check";
import { EFAULT } from "@ublk-ts/uapi";
import { BufferTable, type RegisteredBuffer } from "./buffer_table.ts";

type Op =
  | { op: "register"; sizes: (number | null)[] }
  | { op: "sparse"; nr: number }
  | { op: "update"; offset: number; sizes: (number | null)[] }
  | { op: "unregister" }
  | { op: "get"; index: number }
  | { op: "put"; which: number };

const size = fc.option(fc.integer({ min: 0, max: 8 }), { nil: null });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("register" as const), sizes: fc.array(size, { maxLength: 4 }) }),
  fc.record({ op: fc.constant("sparse" as const), nr: fc.integer({ min: 0, max: 4 }) }),
  fc.record({
    op: fc.constant("update" as const),
    offset: fc.integer({ min: 0, max: 4 }),
    sizes: fc.array(size, { maxLength: 3 }),
  }),
  fc.record({ op: fc.constant("unregister" as const) }),
  fc.record({ op: fc.constant("get" as const), index: fc.integer({ min: -1, max: 4 }) }),
  fc.record({ op: fc.constant("put" as const), which: fc.nat() }),
);

Deno.test("`BufferTable` random sequences: never frees a held or installed buffer, frees each once", () => {
  fc.assert(
    fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
      const freed = new Map<RegisteredBuffer, number>();
      const t = new BufferTable({ onFree: (b) => freed.set(b, (freed.get(b) ?? 0) + 1) });
      const held: RegisteredBuffer[] = [];
      const seen = new Set<RegisteredBuffer>();
      const mk = (n: number | null): Uint8Array | null => (n === null ? null : new Uint8Array(n));
      for (const o of ops) {
        switch (o.op) {
          case "register":
            t.register(o.sizes.map(mk));
            break;
          case "sparse":
            t.registerSparse(o.nr);
            break;
          case "update":
            t.update(o.offset, o.sizes.map(mk));
            break;
          case "unregister":
            t.unregister();
            break;
          case "get": {
            const b = t.get(o.index);
            if (typeof b === "number") assert.equal(b, -EFAULT);
            else held.push(b);
            break;
          }
          case "put":
            if (held.length > 0) t.put(held.splice(o.which % held.length, 1)[0]!);
            break;
        }
        const installed = new Set<RegisteredBuffer>();
        for (let i = 0; i < t.nr; i++) {
          const b = t.lookup(i);
          if (typeof b !== "number") {
            installed.add(b);
            assert.equal(b.index, i);
          }
        }
        for (const b of [...installed, ...held]) {
          seen.add(b);
          assert.equal(b.freed, false);
          assert.equal(freed.has(b), false);
        }
        for (const b of seen) {
          const alive = installed.has(b) || held.includes(b);
          assert.equal(b.freed, !alive);
          assert.equal(freed.get(b) ?? 0, alive ? 0 : 1);
        }
        const live = new Set([...installed, ...held]).size;
        assert.equal(t.liveCount, live);
      }
      for (const b of held) t.put(b);
      t.close();
      assert.equal(t.liveCount, 0);
      for (const b of seen) assert.equal(freed.get(b), 1);
    }),
    { numRuns: 500 },
  );
});
