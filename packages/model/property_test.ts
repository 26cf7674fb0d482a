import assert from "node:assert/strict";
import fc from "fast-check";
import {
  IOSQE_ASYNC,
  IOSQE_CQE_SKIP_SUCCESS,
  IOSQE_IO_DRAIN,
  IOSQE_IO_HARDLINK,
  IOSQE_IO_LINK,
} from "@ublk-ts/uapi";
import { O_RDWR } from "@ublk-ts/ring";
import type { ModelRing } from "./model_ring.ts";
import { prepNop, prepRead, prepRecv, prepTimeout, prepWrite, timespec } from "@ublk-ts/ring";
import { setup, tmpFile } from "./_test_util.ts";

type Kind = "nop" | "read" | "shortread" | "badfd" | "write" | "recv" | "timeout";

interface Step {
  kind: Kind;
  link: 0 | 1 | 2;
  skip: boolean;
  async: boolean;
  drain: boolean;
}

const step: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom<Kind>("nop", "read", "shortread", "badfd", "write", "recv", "timeout"),
  link: fc.constantFrom<0 | 1 | 2>(0, 0, 1, 2),
  skip: fc.boolean(),
  async: fc.boolean(),
  drain: fc.boolean(),
});

Deno.test("random SQE programs never lose or duplicate a completion and end with head == tail", async () => {
  const path = tmpFile("0123456789abcdef");
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (prog) => {
      const { kernel, ring } = setup(8, { cqEntries: 8 });
      const fd = kernel.open(path, O_RDWR);
      const [a, b] = kernel.socketpair();
      const anySkip = prog.some((s) => s.skip);
      const buf = new Uint8Array(16);
      const ts = timespec(1);
      const counts = new Map<number, number>();
      let submitted = 0;
      const reapAll = (): void => {
        for (let c = ring.peekCqe(); c; c = ring.peekCqe()) {
          const ud = Number(c.userData);
          counts.set(ud, (counts.get(ud) ?? 0) + 1);
          ring.cqeSeen();
        }
      };
      for (let i = 0; i < prog.length; i++) {
        const s = prog[i]!;
        let sqe = ring.getSqe();
        if (!sqe) {
          submitted += ring.submit();
          reapAll();
          sqe = ring.getSqe()!;
        }
        let flags = s.link === 1 ? IOSQE_IO_LINK : s.link === 2 ? IOSQE_IO_HARDLINK : 0;
        if (s.skip) flags |= IOSQE_CQE_SKIP_SUCCESS;
        if (s.async) flags |= IOSQE_ASYNC;
        if (s.drain && !anySkip) flags |= IOSQE_IO_DRAIN;
        const o = { userData: BigInt(i), flags };
        switch (s.kind) {
          case "nop":
            prepNop(sqe, o);
            break;
          case "read":
            prepRead(sqe, fd, buf.subarray(0, 4), { ...o, offset: 2 });
            break;
          case "shortread":
            prepRead(sqe, fd, buf, { ...o, offset: 8 });
            break;
          case "badfd":
            prepRead(sqe, 9999, buf, o);
            break;
          case "write":
            prepWrite(sqe, fd, buf.subarray(0, 1), { ...o, offset: 20 });
            break;
          case "recv":
            prepRecv(sqe, a, buf.subarray(0, 1), o);
            break;
          case "timeout":
            prepTimeout(sqe, ts, o);
            break;
        }
      }
      submitted += ring.submit();
      assert.equal(submitted, prog.length);
      kernel.fileOf(b)!.socket!.send(new Uint8Array(prog.length));
      const kr = ring.kernelRing as ModelRing;
      for (let i = 0; i < 200 && kr.inflightCount > 0; i++) {
        await new Promise((r) => setTimeout(r, 1));
        reapAll();
      }
      await new Promise((r) => setTimeout(r, 2));
      reapAll();
      assert.equal(kr.inflightCount, 0);
      assert.equal(kr.overflowCount, 0);
      assert.equal(ring.cqReady(), 0);
      // Which SQEs belong to a chain containing a CQE_SKIP_SUCCESS member.
      let chainStart = 0;
      const relaxed = new Set<number>();
      for (let i = 0; i < prog.length; i++) {
        const end = prog[i]!.link === 0 || i === prog.length - 1;
        if (end) {
          const members = prog.slice(chainStart, i + 1);
          if (members.some((m) => m.skip)) {
            for (let j = chainStart; j <= i; j++) relaxed.add(j);
          }
          chainStart = i + 1;
        }
      }
      for (let i = 0; i < prog.length; i++) {
        const n = counts.get(i) ?? 0;
        if (relaxed.has(i)) assert.ok(n <= 1, `user_data ${i} posted ${n} times`);
        else assert.equal(n, 1, `user_data ${i} posted ${n} times in ${JSON.stringify(prog)}`);
      }
      assert.equal([...counts.keys()].filter((k) => k >= prog.length).length, 0);
      ring.close();
      kernel.close();
    }),
    { numRuns: 150 },
  );
  Deno.removeSync(path);
});
