import assert from "node:assert/strict";
import { lines, MAIN, ublk } from "./_cli.ts";

async function usageError(args: string[], pattern: RegExp): Promise<void> {
  const r = await ublk(...args);
  assert.equal(r.code, 2, `ublk ${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
  assert.equal(r.stdout, "");
  const errLines = lines(r.stderr);
  assert.equal(errLines.length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(errLines[0]!, pattern);
  assert.doesNotMatch(errLines[0]!, /\.$/, "no final period");
  assert.doesNotMatch(r.stderr, /added/, "no device was created");
}

Deno.test("`ublk` without a command is a usage error", async () => {
  await usageError([], /^ublk: missing command/);
});

Deno.test("`ublk frob` and `ublk --frob` are usage errors", async () => {
  await usageError(["frob"], /unknown command 'frob'/);
  await usageError(["--frob"], /unknown option '--frob'/);
});

Deno.test("`ublk run` rejects bad device options with one line and exit 2", async () => {
  await usageError(["run"], /missing -t TYPE/);
  await usageError(["run", "-t", "bogus"], /unknown target type 'bogus'/);
  await usageError(["run", "-t", "null", "--nope"], /unknown option '--nope'/);
  await usageError(["run", "-t"], /'-t' needs a value/);
  await usageError(["run", "-t", "null", "extra"], /unexpected argument 'extra'/);
  await usageError(["run", "-t", "null", "-q", "0"], /'--queues' must be a whole number/);
  await usageError(["run", "-t", "null", "-d", "5000"], /'--depth' must be a whole number/);
  await usageError(["run", "-t", "loop"], /loop target needs -f FILE/);
  await usageError(["run", "-t", "null", "-f", "/tmp/x"], /-f is for the loop target/);
  await usageError(["run", "-t", "nbd"], /needs --host HOST/);
  await usageError(["run", "-t", "nbd", "--host", "a", "--unix", "/b"], /either --host or --unix/);
  await usageError(
    ["run", "-t", "nbd", "--unix", "/b", "--send-zc"],
    /--send-zc needs zero copy \(-z, --auto-zc or --zc-mode\)/,
  );
  await usageError(["run", "-t", "nbd", "-u", "--unix", "/b", "--send-zc"], /needs zero copy/);
  await usageError(
    ["run", "-t", "nbd", "-z", "--unix", "/b", "--send-zc"],
    /needs a TCP connection/,
  );
  await usageError(["run", "-t", "loop", "-f", "x", "--port", "1"], /--port is for the nbd/);
  await usageError(["run", "-t", "loop", "-f", "x", "--size", "1m"], /--size is for the null/);
  await usageError(["run", "-t", "null", "--size", "1000"], /positive multiple of 512/);
});

Deno.test("`ublk run --bench` rejects a bad workload spec", async () => {
  await usageError(["run", "-t", "null", "--bench", "rw=sideways"], /--bench: Cannot use rw/);
  await usageError(["run", "-t", "null", "--bench", "bs=100"], /multiple of 512/);
  await usageError(["run", "-t", "null", "--bench", "colour=red"], /workload key "colour"/);
});

Deno.test("`ublk del` and `ublk list` check their options", async () => {
  await usageError(["del"], /give -n ID or -a/);
  await usageError(["del", "-n", "x"], /needs a device id/);
  await usageError(["list", "-n", "x"], /needs a device id/);
  await usageError(["bench", "-t", "null", "-z"], /-z is not for bench/);
  await usageError(["bench", "-t", "null", "-u"], /-u is not for bench/);
  await usageError(["bench", "-t", "null", "--rounds", "0"], /--rounds must be a whole number/);
});

Deno.test("`ublk --help` lists every command and exits 0", async () => {
  const r = await ublk("--help");
  assert.equal(r.code, 0);
  for (const c of ["run", "bench", "add", "list", "del", "recover", "features", "help"]) {
    assert.match(r.stdout, new RegExp(`^  ${c} `, "m"));
  }
  assert.match(r.stdout, /Exit status/);
  const h = await ublk("-h");
  assert.equal(h.stdout, r.stdout);
});

Deno.test("`ublk <command> --help` shows the command's options", async () => {
  for (
    const [cmd, opt] of [
      ["run", "--bench SPEC"],
      ["bench", "ratio"],
      ["add", "--foreground"],
      ["recover", "USER_RECOVERY"],
      ["list", "--verbose"],
      ["del", "--all"],
      ["features", "GET_FEATURES"],
    ]
  ) {
    const r = await ublk(cmd!, "--help");
    assert.equal(r.code, 0, cmd);
    assert.ok(r.stdout.includes(opt!), `${cmd} --help mentions ${opt}`);
  }
});

Deno.test("`ublk --version` prints the version", async () => {
  const r = await ublk("--version");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^ublk \d+\.\d+\.\d+\n$/);
});

Deno.test("`ublk --help` loads no kernel, target or workload code (lazy imports keep start-up fast)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", MAIN],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const seen = new Set<string>();
  const todo = [...info.roots];
  while (todo.length > 0) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    for (const d of bySpec.get(s)?.dependencies ?? []) {
      if (d.code && !d.isDynamic) todo.push(d.code.specifier);
    }
  }
  const statics = [...seen].map((s) => s.replace(/^.*\/apps\/ublk\//, ""));
  assert.ok(statics.includes("cli.ts"));
  for (const s of statics) {
    // The errno table (names for --errno) is constants only: allowed.
    if (s.endsWith("packages/uapi/errno.ts")) continue;
    assert.doesNotMatch(s, /packages\/|stack\.ts|workload\.ts|daemon\.ts/, `static import ${s}`);
  }
});
