// Layering check (std's check_circular_package_dependencies, ours). The graph (DESIGN.md):
//
//   uapi ← rsrc ← ring ← model ← fused-cmd ← ublk-drv        (the model side)
//                 ring ← ublk ← targets,  nbd ← targets      (the server side)
//                 ring ← native                              (the real io_uring)
//
// Library code of a package imports only the packages listed for it. Test and bench files
// (`*_test.ts`, `*_bench.ts`, `_test_util.ts`, `integration/`, `testdata/`) may also import the
// model stack and `testing`, so the server side is tested on the model kernel — but the server
// library (`ublk`), the targets and `nbd` never import the model kernel or the model driver.
// `testing` (unpublished doubles) may import anything but apps.
//
// Two grep checks go with it: `uapi` never calls `Deno.*`; and nothing but `uapi` writes a
// byte offset of a kernel struct as a number (a DataView get/set at `x + <literal>`), apart from
// the short allow-list below. The SQ tail is written only by `ring` and `native`.
const DIRS: Record<string, string> = {
  uapi: "packages/uapi",
  rsrc: "packages/rsrc",
  ring: "packages/ring",
  model: "packages/model",
  "fused-cmd": "packages/fused_cmd",
  "ublk-drv": "packages/ublk_drv",
  ublk: "packages/ublk",
  nbd: "packages/nbd",
  targets: "packages/targets",
  native: "packages/native",
  testing: "packages/testing",
};
const DEPS: Record<string, string[]> = {
  uapi: [],
  rsrc: ["uapi"],
  ring: ["uapi", "rsrc"],
  model: ["uapi", "rsrc", "ring"],
  "fused-cmd": ["uapi", "rsrc", "ring", "model"],
  "ublk-drv": ["uapi", "rsrc", "ring", "model", "fused-cmd"],
  ublk: ["uapi", "rsrc", "ring"],
  nbd: ["uapi", "ring"],
  targets: ["uapi", "rsrc", "ring", "ublk", "nbd"],
  native: ["uapi", "ring"],
  testing: Object.keys(DIRS),
};
/** What test and bench files may import on top of their package's own deps. */
const TEST_EXTRA = [
  "model",
  "fused-cmd",
  "ublk-drv",
  "ublk",
  "nbd",
  "targets",
  "native",
  "testing",
];

/**
 * Files allowed to write numeric struct offsets outside uapi, each with its reason. Keep short.
 */
const OFFSET_ALLOW: Record<string, string> = {};

/** Files allowed to store an SQ tail outside `ring` and `native`, each with its reason. */
const SQ_TAIL_ALLOW: Record<string, string> = {
  "packages/model/model_ring.ts":
    "the kernel side: setCountersForTest() starts every ring counter at a value (u32 wrap tests)",
};

/** A package's `publish.exclude` patterns as regexps (what is not published is not library code). */
async function unpublished(dir: string): Promise<RegExp[]> {
  try {
    const cfg = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
    return ((cfg.publish?.exclude ?? []) as string[]).map((g) => {
      const re = g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*\*\//g, "(?:.*/)?")
        .replace(/\*/g, "[^/]*");
      return new RegExp(`^${re}${g.endsWith("/") ? "" : "$"}`);
    });
  } catch {
    return [];
  }
}

const isTestFile = (p: string, dir: string, excluded: RegExp[]): boolean =>
  /_(test|bench)\.ts$/.test(p) || p.endsWith("/_test_util.ts") || p.includes("/integration/") ||
  p.includes("/testdata/") || excluded.some((re) => re.test(p.slice(dir.length + 1)));

let bad = 0;
function report(msg: string): void {
  console.error(msg);
  bad++;
}
async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (p.endsWith(".ts")) yield p;
  }
}
const stripComments = (t: string): string => t.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
// A little-endian DataView access at `<expr> + <number>` (kernel structs are little-endian
// here; the NBD wire format is big-endian and has its codecs in packages/nbd/nbd_proto.ts), or
// a byte access at a small literal offset: a struct offset written by hand.
const OFFSET_RE =
  /\.(get|set)(Big)?(Ui|I)nt(16|32|64)\(\s*[\w.#]+\s*\+\s*\d+\s*,[^)]*\btrue\s*\)|\.(get|set)Uint8\(\s*[\w.#]+\s*\+\s*\d+\s*[,)]/;
// A store into SQ ring memory at the tail index (`u32[…sqTail…] = …`, `Atomics.store(…tail…)`).
const SQ_TAIL_RE = new RegExp(
  [
    String.raw`\[[^\]]*(sqTail|SqTail|sq_tail|ktail|kTail|sqOff\.tail|so\.tail)[^\]]*\]\s*=[^=]`,
    String.raw`\.setUint32\(\s*[\w.#]*(sqOff\.tail|so\.tail|sqTail)\b`,
    String.raw`Atomics\.store\([^)]*(sqTail|ktail|kTail|sqOff\.tail|so\.tail)`,
  ].join("|"),
);

for (const [pkg, dir] of Object.entries(DIRS)) {
  try {
    await Deno.stat(dir);
  } catch {
    continue;
  }
  const excluded = await unpublished(dir);
  for await (const file of walk(dir)) {
    const text = await Deno.readTextFile(file);
    const test = isTestFile(file, dir, excluded);
    const ok = new Set([...DEPS[pkg]!, ...(test ? TEST_EXTRA : [])]);
    const code = stripComments(text);
    // Doc examples (in comments) are tests too: they may use the model kernel.
    for (const m of code.matchAll(/from\s+"@ublk-ts\/([a-z-]+)/g)) {
      const dep = m[1]!;
      if (dep !== pkg && !ok.has(dep)) {
        report(`${file}: @ublk-ts/${pkg} must not import @ublk-ts/${dep}`);
      }
    }
    if (pkg === "uapi" && !test && /\bDeno\./.test(code)) {
      report(`${file}: @ublk-ts/uapi must not call Deno.*`);
    }
    if (pkg !== "uapi" && !test && !(file in OFFSET_ALLOW)) {
      code.split("\n").forEach((line, i) => {
        if (OFFSET_RE.test(line)) {
          report(
            `${file}:${
              i + 1
            }: a struct offset written by hand (use the uapi codec): ${line.trim()}`,
          );
        }
      });
    }
    if (pkg !== "ring" && pkg !== "native" && !(file in SQ_TAIL_ALLOW) && SQ_TAIL_RE.test(code)) {
      report(`${file}: writes an SQ tail (only @ublk-ts/ring and @ublk-ts/native drive an SQ)`);
    }
  }
}
// Apps, tests and benches drive rings through Ring too.
for (const dir of ["apps", "tests", "bench"]) {
  for await (const file of walk(dir)) {
    if (SQ_TAIL_RE.test(stripComments(await Deno.readTextFile(file)))) {
      report(`${file}: writes an SQ tail (only @ublk-ts/ring and @ublk-ts/native drive an SQ)`);
    }
  }
}
if (bad) {
  console.error(`layering: ${bad} problem(s)`);
  Deno.exit(1);
}
console.log("layering: ok");
