// Layering check (std's check_circular_package_dependencies, ours): packages import only
// packages to their left in  uapi ← rsrc ← ring ← fused-cmd ← ublk ← targets ← apps/ublk,
// and native imports only uapi and ring.
const ORDER = ["uapi", "rsrc", "ring", "fused-cmd", "ublk", "targets"];
const DIRS: Record<string, string> = {
  uapi: "packages/uapi",
  rsrc: "packages/rsrc",
  ring: "packages/ring",
  "fused-cmd": "packages/fused_cmd",
  ublk: "packages/ublk",
  targets: "packages/targets",
  native: "packages/native",
};
const allowed = (pkg: string): Set<string> => {
  if (pkg === "native") return new Set(["uapi", "ring"]);
  return new Set(ORDER.slice(0, ORDER.indexOf(pkg)));
};
let bad = 0;
async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(p);
    else if (p.endsWith(".ts")) yield p;
  }
}
for (const [pkg, dir] of Object.entries(DIRS)) {
  try {
    await Deno.stat(dir);
  } catch {
    continue;
  }
  const ok = allowed(pkg);
  for await (const file of walk(dir)) {
    const text = await Deno.readTextFile(file);
    for (const m of text.matchAll(/from\s+"@ublk-ts\/([a-z-]+)/g)) {
      const dep = m[1]!;
      // Tests may reach right (e.g. ring tests of the native backend) only from integration/.
      if (dep !== pkg && !ok.has(dep) && !file.includes("/integration/")) {
        console.error(`${file}: @ublk-ts/${pkg} must not import @ublk-ts/${dep}`);
        bad++;
      }
    }
    if (
      pkg === "uapi" && /\bDeno\./.test(text.replace(/\/\/.*|\/\*[\s\S]*?\*\//g, "")) &&
      !/_(test|bench)\.ts$/.test(file) && !file.includes("/testdata/")
    ) {
      console.error(`${file}: @ublk-ts/uapi must not call Deno.*`);
      bad++;
    }
  }
}
if (bad) Deno.exit(1);
console.log("layering: ok");
