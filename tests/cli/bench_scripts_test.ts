/** The bench scripts' command lines: `--help` tells the options, a bad one is one line and exit 2. */
import assert from "node:assert/strict";

const SCRIPTS = ["headline.ts", "stripe.ts", "native_vs_fio.ts"];

async function run(script: string, ...args: string[]): Promise<Deno.CommandOutput> {
  return await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(`../../bench/${script}`, import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
}

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

for (const script of SCRIPTS) {
  Deno.test(`bench/${script} --help lists its options and exits 0`, async () => {
    const r = await run(script, "--help");
    assert.equal(r.code, 0, text(r.stderr));
    const out = text(r.stdout);
    assert.match(out, new RegExp(`^Usage: deno run -A bench/${script.replace(".", "\\.")}`));
    assert.match(out, /--rounds N/);
    assert.match(out, /-h, --help/);
  });

  Deno.test(`bench/${script}: an unknown option is one line and exit 2, nothing run`, async () => {
    const r = await run(script, "--bogus");
    assert.equal(r.code, 2);
    const err = text(r.stderr).trim().split("\n");
    assert.deepEqual(err, [
      `bench/${script}: Unknown option '--bogus'`,
      `bench/${script}: try --help`,
    ]);
    assert.equal(text(r.stdout), "");
  });

  Deno.test(`bench/${script}: a bad number is refused before anything runs`, async () => {
    const r = await run(script, "--rounds", "two");
    assert.equal(r.code, 2);
    assert.match(text(r.stderr), /--rounds "two": expected a whole number ≥ 1/);
    assert.equal(text(r.stdout), "");
  });
}
