import {
  IORING_OP_READ,
  IoUringCqe,
  IoUringSqe,
  UBLK_IO_OP_READ,
  UblksrvIoCmd,
  UblksrvIoDesc,
} from "./mod.ts";

const DEPTH = 128;
const sq = new DataView(new ArrayBuffer(DEPTH * IoUringSqe.SIZE128));
const cq = new DataView(new ArrayBuffer(DEPTH * IoUringCqe.SIZE));
const iod = new DataView(new ArrayBuffer(DEPTH * UblksrvIoDesc.SIZE));
for (let t = 0; t < DEPTH; t++) {
  UblksrvIoDesc.set(iod, t * 24, UBLK_IO_OP_READ, 8, BigInt(t * 8), 0x10000n + BigInt(t << 12));
}
const value = IoUringSqe.zero();
let sink = 0;

Deno.bench("SQE: encode() of a whole value", { group: "sqe", baseline: true }, () => {
  for (let t = 0; t < DEPTH; t++) {
    value.opcode = IORING_OP_READ;
    value.len = 4096;
    value.off = BigInt(t << 12);
    value.userData = BigInt(t);
    IoUringSqe.encode(sq, t * 128, value);
  }
});

Deno.bench("SQE: hot setters with bigint off/user_data", { group: "sqe" }, () => {
  for (let t = 0; t < DEPTH; t++) {
    const o = t * 128;
    IoUringSqe.setOpcode(sq, o, IORING_OP_READ);
    IoUringSqe.setLen(sq, o, 4096);
    IoUringSqe.setOff(sq, o, BigInt(t << 12));
    IoUringSqe.setUserData(sq, o, BigInt(t));
  }
});

Deno.bench("SQE: hot setters with number off (no bigint)", { group: "sqe" }, () => {
  for (let t = 0; t < DEPTH; t++) {
    const o = t * 128;
    IoUringSqe.setOpcode(sq, o, IORING_OP_READ);
    IoUringSqe.setLen(sq, o, 4096);
    IoUringSqe.setOffNumber(sq, o, t << 12);
    sq.setUint32(o + IoUringSqe.OFFSET_USER_DATA, t, true);
  }
});

Deno.bench("io_desc: decode()", { group: "iod", baseline: true }, () => {
  for (let t = 0; t < DEPTH; t++) {
    const d = UblksrvIoDesc.decode(iod, t * 24);
    sink += d.opFlags + d.nrSectors + Number(d.startSector);
  }
});

Deno.bench("io_desc: hot getters, bigint start_sector", { group: "iod" }, () => {
  for (let t = 0; t < DEPTH; t++) {
    const o = t * 24;
    sink += UblksrvIoDesc.opFlags(iod, o) + UblksrvIoDesc.nrSectors(iod, o) +
      Number(UblksrvIoDesc.startSector(iod, o));
  }
});

Deno.bench("io_desc: hot getters, number start_sector", { group: "iod" }, () => {
  for (let t = 0; t < DEPTH; t++) {
    const o = t * 24;
    sink += UblksrvIoDesc.opFlags(iod, o) + UblksrvIoDesc.nrSectors(iod, o) +
      UblksrvIoDesc.startSectorNumber(iod, o);
  }
});

Deno.bench("io_cmd + CQE: COMMIT payload and CQE post", { group: "cmd" }, () => {
  for (let t = 0; t < DEPTH; t++) {
    UblksrvIoCmd.set(sq, t * 128 + 48, 0, t, 4096, 0n);
    IoUringCqe.set(cq, t * 16, 0n, 0, 0);
  }
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log(sink);
});
