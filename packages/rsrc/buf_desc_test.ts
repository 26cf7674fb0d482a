import assert from "node:assert/strict";
import {
  EINVAL,
  EOPNOTSUPP,
  UBLK_F_AUTO_BUF_REG,
  UBLK_F_NEED_GET_DATA,
  UBLK_F_RFC_FUSED_ZC,
  UBLK_F_USER_COPY,
} from "@ublk-ts/uapi";
import {
  autoRegBufDesc,
  type BufDesc,
  bufModeFor,
  copyBufDesc,
  validateCompatibility,
  validateFlags,
  zeroCopyBufDesc,
} from "./buf_desc.ts";

const ZC = UBLK_F_RFC_FUSED_ZC;
const NGD = UBLK_F_NEED_GET_DATA;
const UC = UBLK_F_USER_COPY;
const AUTO = UBLK_F_AUTO_BUF_REG;

Deno.test("buffer-mode flag values match ublk_cmd.h", () => {
  assert.equal(ZC, 1n << 63n); // model-only bit of the RFC design
  assert.equal(NGD, 4n);
  assert.equal(UC, 128n);
  assert.equal(AUTO, 2048n);
});

Deno.test("`validateFlags()` rejects zero copy with need-get-data or user-copy", () => {
  assert.equal(validateFlags(0n), 0);
  assert.equal(validateFlags(ZC), 0);
  assert.equal(validateFlags(NGD), 0);
  assert.equal(validateFlags(UC), 0);
  assert.equal(validateFlags(NGD | UC), 0);
  assert.equal(validateFlags(ZC | NGD), -EINVAL);
  assert.equal(validateFlags(ZC | UC), -EINVAL);
  assert.equal(validateFlags(AUTO | NGD), -EINVAL);
  assert.equal(validateFlags(AUTO | UC), -EINVAL);
  assert.equal(validateFlags(AUTO | ZC), 0);
});

Deno.test("`bufModeFor()` picks the mode the flags call for", () => {
  assert.equal(bufModeFor(0n), "copy");
  assert.equal(bufModeFor(NGD), "copy");
  assert.equal(bufModeFor(ZC), "zero-copy");
  assert.equal(bufModeFor(AUTO), "auto-register");
  assert.equal(bufModeFor(AUTO | ZC), "auto-register");
  assert.equal(bufModeFor(UC), -EOPNOTSUPP);
  assert.equal(bufModeFor(ZC | NGD), -EINVAL);
});

Deno.test("`validateCompatibility()` copy mode needs a plain device and a buffer", () => {
  const d = copyBufDesc(new Uint8Array(4096));
  assert.equal(d.kind, "copy");
  assert.equal(validateCompatibility(d, 0n), 0);
  assert.equal(validateCompatibility(d, NGD), 0);
  assert.equal(validateCompatibility(d, ZC), -EOPNOTSUPP);
  assert.equal(validateCompatibility(d, UC), -EOPNOTSUPP);
  assert.equal(validateCompatibility(d, AUTO), -EOPNOTSUPP);
  assert.equal(validateCompatibility(copyBufDesc(new Uint8Array(0)), 0n), -EINVAL);
});

Deno.test("`validateCompatibility()` auto-register needs the flag and u16/u8 fields", () => {
  assert.deepEqual(autoRegBufDesc(3), { kind: "auto-register", index: 3, flags: 0 });
  assert.equal(validateCompatibility(autoRegBufDesc(3, 1), AUTO), 0);
  assert.equal(validateCompatibility(autoRegBufDesc(0xffff, 0xff), AUTO), 0);
  assert.equal(validateCompatibility(autoRegBufDesc(3), 0n), -EOPNOTSUPP);
  assert.equal(validateCompatibility(autoRegBufDesc(3), ZC), -EOPNOTSUPP);
  assert.equal(validateCompatibility(autoRegBufDesc(0x10000), AUTO), -EINVAL);
  assert.equal(validateCompatibility(autoRegBufDesc(-1), AUTO), -EINVAL);
  assert.equal(validateCompatibility(autoRegBufDesc(1, 0x100), AUTO), -EINVAL);
  assert.equal(validateCompatibility(autoRegBufDesc(1.5), AUTO), -EINVAL);
  assert.equal(validateCompatibility(autoRegBufDesc(1), AUTO | NGD), -EINVAL);
});

Deno.test("`validateCompatibility()` zero copy needs RFC_FUSED_ZC alone", () => {
  const z = zeroCopyBufDesc();
  assert.equal(z, zeroCopyBufDesc());
  assert.ok(Object.isFrozen(z));
  assert.equal(validateCompatibility(z, ZC), 0);
  assert.equal(validateCompatibility(z, 0n), -EOPNOTSUPP);
  assert.equal(validateCompatibility(z, ZC | AUTO), -EOPNOTSUPP);
  assert.equal(validateCompatibility(z, ZC | NGD), -EINVAL);
  assert.equal(validateCompatibility(z, ZC | UC), -EINVAL);
});

Deno.test("`validateCompatibility()` rejects an unknown kind with -EINVAL", () => {
  const bogus = { kind: "user-copy" } as unknown as BufDesc;
  assert.equal(validateCompatibility(bogus, 0n), -EINVAL);
});
