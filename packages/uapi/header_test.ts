/**
 * Checks the package against the installed kernel headers (`linux/io_uring.h`,
 * `linux/ublk_cmd.h`): the test parses both headers for every `#define` constant, every enum
 * member and every struct with its (flattened) fields, generates a C program that prints the
 * value, `sizeof` and `offsetof` of each, compiles it with gcc, and compares the output with
 * the TypeScript exports. A new header constant or struct shows up here by itself and fails
 * until the package has it.
 *
 * The libc-side constants (`fcntl.ts`, `mman.ts`) are checked the other way round: every export
 * of those modules is printed by a C probe over `<fcntl.h>`, `<linux/falloc.h>`, `<linux/fs.h>`,
 * `<sys/mman.h>` and `<asm/unistd.h>` (so a wrong value fails), and every `FALLOC_FL_*` of
 * `linux/falloc.h` and `RWF_*` of `linux/fs.h` must be exported.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as uapi from "./mod.ts";
import * as fcntl from "./fcntl.ts";
import * as mman from "./mman.ts";
import { UBLK_PARAM_TYPE_BASIC, UBLK_PARAM_TYPE_DISCARD } from "./mod.ts";
import { type CStruct, parseHeader } from "./testdata/header_parse.ts";

const INCLUDE = "/usr/include";
const HEADERS = ["linux/io_uring.h", "linux/ublk_cmd.h"];

/** A codec class as every struct codec of the package is shaped. */
interface Codec {
  readonly SIZE: number;
  encode(view: DataView, offset: number, value: never): void;
  decode(view: DataView, offset: number): unknown;
}

/** C struct name → codec class. */
const CODECS: Record<string, Codec> = {
  io_uring_sqe: uapi.IoUringSqe,
  io_uring_cqe: uapi.IoUringCqe,
  io_sqring_offsets: uapi.IoSqringOffsets,
  io_cqring_offsets: uapi.IoCqringOffsets,
  io_uring_params: uapi.IoUringParams,
  io_uring_files_update: uapi.IoUringFilesUpdate,
  io_uring_rsrc_register: uapi.IoUringRsrcRegister,
  io_uring_rsrc_update: uapi.IoUringRsrcUpdate,
  io_uring_rsrc_update2: uapi.IoUringRsrcUpdate2,
  io_uring_notification_slot: uapi.IoUringNotificationSlot,
  io_uring_notification_register: uapi.IoUringNotificationRegister,
  io_uring_probe_op: uapi.IoUringProbeOp,
  io_uring_probe: uapi.IoUringProbe,
  io_uring_restriction: uapi.IoUringRestriction,
  io_uring_buf: uapi.IoUringBuf,
  io_uring_buf_ring: uapi.IoUringBufRing,
  io_uring_buf_reg: uapi.IoUringBufReg,
  io_uring_getevents_arg: uapi.IoUringGeteventsArg,
  io_uring_sync_cancel_reg: uapi.IoUringSyncCancelReg,
  io_uring_file_index_range: uapi.IoUringFileIndexRange,
  io_uring_recvmsg_out: uapi.IoUringRecvmsgOut,
  ublksrv_ctrl_cmd: uapi.UblksrvCtrlCmd,
  ublksrv_ctrl_dev_info: uapi.UblksrvCtrlDevInfo,
  ublksrv_io_desc: uapi.UblksrvIoDesc,
  ublksrv_io_cmd: uapi.UblksrvIoCmd,
  ublk_param_basic: uapi.UblkParamBasic,
  ublk_param_discard: uapi.UblkParamDiscard,
  ublk_params: uapi.UblkParams,
};

/**
 * The size the package expects for a struct that grew after the installed header.
 * `ublk_params` of 6.1 holds basic + discard only; the codec's full size is the current one.
 */
const SIZE_OF_HEADER_ERA: Record<string, number> = {
  ublk_params: uapi.UblkParams.lenFor(UBLK_PARAM_TYPE_BASIC | UBLK_PARAM_TYPE_DISCARD),
};

/** Structs whose decode depends on in-memory lengths, so the byte-coverage probe is skipped. */
const NO_COVERAGE_PROBE = new Set(["ublk_params"]);

/** C expressions of values the installed header lacks but can compute (ioctl encodings). */
const EXTRA_EXPRESSIONS: Record<string, string> = {
  UBLK_U_CMD_GET_QUEUE_AFFINITY: "_IOR('u', 0x01, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_GET_DEV_INFO: "_IOR('u', 0x02, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_ADD_DEV: "_IOWR('u', 0x04, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_DEL_DEV: "_IOWR('u', 0x05, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_START_DEV: "_IOWR('u', 0x06, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_STOP_DEV: "_IOWR('u', 0x07, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_SET_PARAMS: "_IOWR('u', 0x08, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_GET_PARAMS: "_IOR('u', 0x09, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_START_USER_RECOVERY: "_IOWR('u', 0x10, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_END_USER_RECOVERY: "_IOWR('u', 0x11, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_GET_DEV_INFO2: "_IOR('u', 0x12, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_GET_FEATURES: "_IOR('u', 0x13, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_DEL_DEV_ASYNC: "_IOR('u', 0x14, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_UPDATE_SIZE: "_IOWR('u', 0x15, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_QUIESCE_DEV: "_IOWR('u', 0x16, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_TRY_STOP_DEV: "_IOWR('u', 0x17, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_REG_BUF: "_IOWR('u', 0x18, struct ublksrv_ctrl_cmd)",
  UBLK_U_CMD_UNREG_BUF: "_IOWR('u', 0x19, struct ublksrv_ctrl_cmd)",
  UBLK_U_IO_FETCH_REQ: "_IOWR('u', 0x20, struct ublksrv_io_cmd)",
  UBLK_U_IO_COMMIT_AND_FETCH_REQ: "_IOWR('u', 0x21, struct ublksrv_io_cmd)",
  UBLK_U_IO_NEED_GET_DATA: "_IOWR('u', 0x22, struct ublksrv_io_cmd)",
  UBLK_U_IO_REGISTER_IO_BUF: "_IOWR('u', 0x23, struct ublksrv_io_cmd)",
  UBLK_U_IO_UNREGISTER_IO_BUF: "_IOWR('u', 0x24, struct ublksrv_io_cmd)",
  _IOC_NRBITS: "_IOC_NRBITS",
  _IOC_TYPEBITS: "_IOC_TYPEBITS",
  _IOC_SIZEBITS: "_IOC_SIZEBITS",
  _IOC_DIRBITS: "_IOC_DIRBITS",
  _IOC_NRMASK: "_IOC_NRMASK",
  _IOC_TYPEMASK: "_IOC_TYPEMASK",
  _IOC_SIZEMASK: "_IOC_SIZEMASK",
  _IOC_DIRMASK: "_IOC_DIRMASK",
  _IOC_NRSHIFT: "_IOC_NRSHIFT",
  _IOC_TYPESHIFT: "_IOC_TYPESHIFT",
  _IOC_SIZESHIFT: "_IOC_SIZESHIFT",
  _IOC_DIRSHIFT: "_IOC_DIRSHIFT",
  _IOC_NONE: "_IOC_NONE",
  _IOC_READ: "_IOC_READ",
  _IOC_WRITE: "_IOC_WRITE",
  "KernelTimespec.SIZE": "sizeof(struct __kernel_timespec)",
  "KernelTimespec.OFFSET_TV_SEC": "offsetof(struct __kernel_timespec, tv_sec)",
  "KernelTimespec.OFFSET_TV_NSEC": "offsetof(struct __kernel_timespec, tv_nsec)",
};

/** `OFFSET_*` static name of a C field: leading underscores dropped, upper case. */
function offsetKey(field: string): string {
  return "OFFSET_" + field.replace(/^_+/, "").toUpperCase();
}

function cString(s: string): string {
  return JSON.stringify(s);
}

/** The generated C program. */
function generateC(constants: readonly string[], structs: readonly CStruct[]): string {
  const lines = [
    "#include <stdio.h>",
    "#include <stddef.h>",
    "#include <errno.h>",
    "#include <linux/ioctl.h>",
    "#include <linux/time_types.h>",
    ...HEADERS.map((h) => `#include <${h}>`),
    '#define P(tag, name, x) do { if ((x) < 0) printf("%s %s %lld\\n", tag, name, ' +
    '(long long)(x)); else printf("%s %s %llu\\n", tag, name, (unsigned long long)(x)); ' +
    "} while (0)",
    "int main(void) {",
  ];
  for (const c of constants) lines.push(`  P("C", ${cString(c)}, ${c});`);
  for (const [name, expr] of Object.entries(EXTRA_EXPRESSIONS)) {
    lines.push(`  P("X", ${cString(name)}, ${expr});`);
  }
  for (const s of structs) {
    lines.push(`  printf("S %s %zu\\n", ${cString(s.name)}, sizeof(struct ${s.name}));`);
    for (const f of s.fields) {
      const size = f.flex ? "(size_t)0" : `sizeof(((struct ${s.name} *)0)->${f.name})`;
      lines.push(
        `  printf("F %s %s %zu %zu\\n", ${cString(s.name)}, ${cString(f.name)}, ` +
          `offsetof(struct ${s.name}, ${f.name}), ${size});`,
      );
    }
  }
  lines.push("  return 0;", "}");
  return lines.join("\n") + "\n";
}

interface CReport {
  constants: Map<string, bigint>;
  extras: Map<string, bigint>;
  sizes: Map<string, number>;
  fields: { struct: string; field: string; offset: number; size: number }[];
}

async function compileAndRun(source: string): Promise<CReport> {
  const dir = await Deno.makeTempDir({ prefix: "uapi_header_test_" });
  try {
    const src = `${dir}/layout.c`;
    const exe = `${dir}/layout`;
    await Deno.writeTextFile(src, source);
    const cc = await new Deno.Command("gcc", { args: ["-w", "-O0", "-o", exe, src] }).output();
    if (!cc.success) {
      throw new Error(`Cannot compile the layout probe: ${new TextDecoder().decode(cc.stderr)}`);
    }
    const run = await new Deno.Command(exe).output();
    assert.ok(run.success, "the layout probe exits 0");
    const report: CReport = {
      constants: new Map(),
      extras: new Map(),
      sizes: new Map(),
      fields: [],
    };
    for (const line of new TextDecoder().decode(run.stdout).split("\n")) {
      const p = line.split(" ");
      if (p[0] === "C") report.constants.set(p[1], BigInt(p[2]));
      else if (p[0] === "X") report.extras.set(p[1], BigInt(p[2]));
      else if (p[0] === "S") report.sizes.set(p[1], Number(p[2]));
      else if (p[0] === "F") {
        report.fields.push({ struct: p[1], field: p[2], offset: Number(p[3]), size: Number(p[4]) });
      }
    }
    return report;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function haveToolchain(): boolean {
  try {
    for (const h of HEADERS) Deno.statSync(`${INCLUDE}/${h}`);
    return new Deno.Command("gcc", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
}

const ready = haveToolchain();

async function probe(): Promise<{ report: CReport; constants: string[]; structs: CStruct[] }> {
  const constants: string[] = [];
  const structs: CStruct[] = [];
  for (const h of HEADERS) {
    const parsed = parseHeader(await Deno.readTextFile(`${INCLUDE}/${h}`));
    constants.push(...parsed.constants);
    structs.push(...parsed.structs);
  }
  return { report: await compileAndRun(generateC(constants, structs)), constants, structs };
}

const exported = uapi as unknown as Record<string, unknown>;

function tsValue(name: string): unknown {
  const dot = name.indexOf(".");
  if (dot < 0) return exported[name];
  const cls = exported[name.slice(0, dot)] as Record<string, unknown> | undefined;
  return cls?.[name.slice(dot + 1)];
}

Deno.test({
  name: "every constant of the kernel headers is exported with the header's value",
  ignore: !ready,
  async fn(): Promise<void> {
    const { report, constants } = await probe();
    assert.ok(constants.length > 150, `parsed only ${constants.length} constants`);
    const problems: string[] = [];
    for (const name of constants) {
      const want = report.constants.get(name);
      const got = tsValue(name);
      if (got === undefined) problems.push(`${name}: missing (header value ${want})`);
      else if (typeof got !== "number" && typeof got !== "bigint") {
        problems.push(`${name}: not a number`);
      } else if (BigInt(got) !== want) problems.push(`${name}: ${got} != header ${want}`);
    }
    for (const [name, want] of report.extras) {
      const got = tsValue(name);
      if (typeof got !== "number" && typeof got !== "bigint") problems.push(`${name}: missing`);
      else if (BigInt(got) !== want) problems.push(`${name}: ${got} != C ${want}`);
    }
    console.log(
      `checked ${constants.length} header constants and ${report.extras.size} computed C expressions`,
    );
    assert.deepEqual(problems, []);
  },
});

Deno.test({
  name: "every struct of the kernel headers has a codec with the header's size and offsets",
  ignore: !ready,
  async fn(): Promise<void> {
    const { report, structs } = await probe();
    const problems: string[] = [];
    let fieldsChecked = 0;
    let bytesProbed = 0;
    for (const s of structs) {
      const codec = CODECS[s.name];
      if (!codec) {
        problems.push(`struct ${s.name}: no codec`);
        continue;
      }
      const cSize = report.sizes.get(s.name)!;
      const want = SIZE_OF_HEADER_ERA[s.name] ?? codec.SIZE;
      if (want !== cSize) problems.push(`struct ${s.name}: SIZE ${want} != sizeof ${cSize}`);
      for (const f of report.fields.filter((x) => x.struct === s.name)) {
        fieldsChecked++;
        const key = offsetKey(f.field);
        const got = (codec as unknown as Record<string, unknown>)[key];
        if (got !== f.offset) {
          problems.push(`${s.name}.${f.field}: ${key} = ${got} != offsetof ${f.offset}`);
          continue;
        }
        if (f.size === 0 || NO_COVERAGE_PROBE.has(s.name)) continue;
        // The codec must carry exactly these bytes: 0xff in the field survives decode+encode.
        const src = new Uint8Array(4096);
        src.fill(0xff, f.offset, f.offset + f.size);
        const value = codec.decode(new DataView(src.buffer), 0);
        const out = new Uint8Array(4096);
        codec.encode(new DataView(out.buffer), 0, value as never);
        for (let i = 0; i < cSize; i++) {
          if (out[i] !== src[i]) {
            problems.push(`${s.name}.${f.field}: byte ${i} is not carried by decode/encode`);
            break;
          }
        }
        bytesProbed += f.size;
      }
    }
    console.log(
      `checked ${structs.length} structs, ${fieldsChecked} fields (offsetof), ` +
        `${bytesProbed} field bytes through decode/encode`,
    );
    assert.deepEqual(problems, []);
  },
});

/** Headers of the libc-side probe, after `_GNU_SOURCE` (for O_DIRECT, O_NOATIME, O_PATH). */
const LIBC_HEADERS = [
  "fcntl.h",
  "linux/falloc.h",
  "linux/fs.h",
  "sys/mman.h",
  "asm/unistd.h",
];

/** The C expression of an export of `fcntl.ts` or `mman.ts`: `SYS_x` is `__NR_x`. */
function libcExpression(name: string): string {
  return name.startsWith("SYS_") ? `__NR_${name.slice(4)}` : name;
}

/** Every `FALLOC_FL_*` of `linux/falloc.h` and `RWF_*` flag of `linux/fs.h` (not masks). */
async function libcHeaderNames(): Promise<string[]> {
  const falloc = parseHeader(await Deno.readTextFile(`${INCLUDE}/linux/falloc.h`)).constants;
  const fs = await Deno.readTextFile(`${INCLUDE}/linux/fs.h`);
  const rwf = [...fs.matchAll(/^#define\s+(RWF_[A-Z0-9_]+)\s/gm)].map((m) => m[1]!);
  return [...falloc, ...rwf.filter((n) => n !== "RWF_SUPPORTED")];
}

function haveLibcToolchain(): boolean {
  try {
    for (const h of ["linux/falloc.h", "linux/fs.h", "fcntl.h"]) {
      Deno.statSync(`${INCLUDE}/${h}`);
    }
    return new Deno.Command("gcc", { args: ["--version"] }).outputSync().success;
  } catch {
    return false;
  }
}

/**
 * Constants newer than the installed headers (Debian 12's linux-libc-dev is 6.1): each with
 * the kernel version that has it and its value there (`include/uapi/linux/fs.h`). Checked by
 * value here instead of against the probe; the list is kept short.
 */
const NEWER_THAN_HEADERS: Record<string, { since: string; value: number }> = {
  RWF_NOAPPEND: { since: "6.9", value: 0x20 },
};

Deno.test({
  name: "fcntl, falloc, RWF and mman constants equal the C headers' values",
  ignore: !haveLibcToolchain(),
  async fn(): Promise<void> {
    const modules: Record<string, unknown>[] = [fcntl, mman];
    const names = modules.flatMap((m) =>
      Object.keys(m).filter((k) => typeof m[k] === "number" || typeof m[k] === "bigint")
    );
    const headerNames = await libcHeaderNames();
    for (const [n, { value }] of Object.entries(NEWER_THAN_HEADERS)) {
      assert.equal(tsValue(n), value, `${n} (newer than the installed headers)`);
    }
    const all = [...new Set([...names, ...headerNames])].filter((n) => !(n in NEWER_THAN_HEADERS));
    const source = [
      "#define _GNU_SOURCE",
      "#include <stdio.h>",
      ...LIBC_HEADERS.map((h) => `#include <${h}>`),
      "int main(void) {",
      ...all.map((n) =>
        `  printf("C %s %lld\\n", ${cString(n)}, (long long)(${libcExpression(n)}));`
      ),
      "  return 0;",
      "}",
    ].join("\n") + "\n";
    const report = await compileAndRun(source);
    const problems: string[] = [];
    for (const name of all) {
      const want = report.constants.get(name);
      const got = tsValue(name);
      if (want === undefined) problems.push(`${name}: not printed by the probe`);
      else if (typeof got !== "number" && typeof got !== "bigint") {
        problems.push(`${name}: not exported (header value ${want})`);
      } else if (BigInt(got) !== want) {
        problems.push(`${name}: ${got} != ${libcExpression(name)} ${want}`);
      }
    }
    assert.ok(names.length >= 30, `only ${names.length} fcntl/mman exports`);
    assert.ok(headerNames.includes("FALLOC_FL_ZERO_RANGE") && headerNames.includes("RWF_NOWAIT"));
    console.log(`checked ${all.length} fcntl/falloc/RWF/mman constants against the C headers`);
    assert.deepEqual(problems, []);
  },
});

Deno.test("`parseHeader()` flattens anonymous unions and reads enums and defines", () => {
  const parsed = parseHeader(`
#ifndef GUARD_H
#define GUARD_H
#define A_FLAG (1U << 3) /* comment */
#define FN_LIKE(x) ((x) + 1)
enum { E_ZERO, E_ONE = 1, };
struct s {
  __u32 a;
  union {
    __u64 b;
    struct { __u32 c; __u32 d; };
  };
  union { __u16 e; } __attribute__((packed));
  __u8 cmd[0];
  __DECLARE_FLEX_ARRAY(struct t, items);
  __u64 tail[];
};
#endif
`);
  assert.deepEqual(parsed.constants, ["A_FLAG", "E_ZERO", "E_ONE"]);
  assert.deepEqual(parsed.structs, [{
    name: "s",
    fields: [
      { name: "a", flex: false },
      { name: "b", flex: false },
      { name: "c", flex: false },
      { name: "d", flex: false },
      { name: "e", flex: false },
      { name: "cmd", flex: false },
      { name: "items", flex: true },
      { name: "tail", flex: true },
    ],
  }]);
});
