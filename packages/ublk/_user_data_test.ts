import assert from "node:assert/strict";
import fc from "fast-check";
import {
  decodeUserData,
  encodeUserData,
  userDataHi,
  userDataIsTargetIo,
  userDataLo,
  userDataOp,
  userDataTag,
  userDataTgtData,
} from "./_user_data.ts";

Deno.test("`encodeUserData()` places tag, op, tgt_data and bit 63 as ublksrv does", () => {
  assert.equal(encodeUserData(0, 0, 0, false), 0n);
  assert.equal(encodeUserData(0xffff, 0, 0, false), 0xffffn);
  assert.equal(encodeUserData(0, 0xff, 0, false), 0xff0000n);
  assert.equal(encodeUserData(0, 0, 0xffff, false), 0xffff000000n);
  assert.equal(encodeUserData(0, 0, 0, true), 1n << 63n);
});

Deno.test("`encodeUserData()` rejects out-of-range fields", () => {
  assert.throws(() => encodeUserData(0x10000, 0, 0, false), RangeError);
  assert.throws(() => encodeUserData(0, 256, 0, false), RangeError);
  assert.throws(() => encodeUserData(0, 0, 0x10000, false), RangeError);
  assert.throws(() => encodeUserData(-1, 0, 0, false), RangeError);
  assert.throws(() => encodeUserData(1.5, 0, 0, false), RangeError);
});

Deno.test("`decodeUserData()` round-trips every field", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.boolean(),
      (tag, op, tgtData, isTargetIo) => {
        const ud = encodeUserData(tag, op, tgtData, isTargetIo);
        assert.deepEqual(decodeUserData(ud), { tag, op, tgtData, isTargetIo });
      },
    ),
  );
});

Deno.test("`userDataLo()`/`userDataHi()` agree with the bigint form and decode back", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.boolean(),
      (tag, op, tgtData, isTargetIo) => {
        const lo = userDataLo(tag, op, tgtData);
        const hi = userDataHi(tgtData, isTargetIo);
        assert.equal(
          (BigInt(hi) << 32n) | BigInt(lo),
          encodeUserData(tag, op, tgtData, isTargetIo),
        );
        assert.equal(userDataTag(lo), tag);
        assert.equal(userDataOp(lo), op);
        assert.equal(userDataTgtData(lo, hi), tgtData);
        assert.equal(userDataIsTargetIo(hi), isTargetIo);
      },
    ),
  );
});
