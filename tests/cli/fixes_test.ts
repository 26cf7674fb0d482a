/**
 * What a new user hit (issue 12, items 5 and 6), one test each: state names, granted queues,
 * Ctrl-C and SIGTERM during workloads, workload checks before any device, `-q -1`, `bench
 * --help`, honest O_DIRECT help, fio keys, repeated keys, read-only and `--force`.
 */
import assert from "node:assert/strict";
import { lines, readRest, readUntil, spawnUblk, testRunDir, ublk } from "./_cli.ts";

async function usageError(args: string[], pattern: RegExp): Promise<void> {
  const r = await ublk(...args);
  assert.equal(r.code, 2, `ublk ${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
  const errLines = lines(r.stderr);
  assert.equal(errLines.length, 1, `one line expected, got: ${r.stderr}`);
  assert.match(errLines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /added/, "no device was created");
}

async function dataFile(size: number): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "ublk_fix_", suffix: ".img" });
  const data = new Uint8Array(size);
  crypto.getRandomValues(data.subarray(0, 65536));
  await Deno.writeFile(path, data);
  return path;
}

Deno.test("`ublk add --foreground` prints the state by name (LIVE), not as a number", async () => {
  const dir = testRunDir();
  const child = spawnUblk(dir, "add", "-t", "null", "--size", "1m", "--foreground");
  const out = await readUntil(child.stdout.getReader(), "daemon pid");
  child.kill("SIGTERM");
  const status = await child.status;
  assert.match(out, /^dev_id \d+ {2}state LIVE$/m);
  assert.doesNotMatch(out, /state \d/);
  assert.equal(status.code, 130);
});

Deno.test("`ublk run -q 32` shows the queues the driver granted, and says it clamped", async () => {
  const cpus = navigator.hardwareConcurrency;
  const r = await ublk("run", "-t", "null", "-q", "32", "--bench", "n=100");
  assert.equal(r.code, 0, r.stderr);
  const granted = Math.min(32, cpus);
  assert.match(r.stderr, new RegExp(`null, ${granted} queues? x 128 tags`));
  if (granted < 32) {
    assert.match(
      r.stderr,
      new RegExp(`asked for 32 queues: the driver clamps to nr_cpu_ids, ${granted}`),
    );
  }
});

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`\`ublk run --bench rw=verify\` stops on ${sig}, prints its result and exits 130`, async () => {
    const img = await Deno.makeTempFile({ prefix: "ublk_fix_", suffix: ".img" });
    await Deno.truncate(img, 16 << 20);
    try {
      const child = spawnUblk(
        testRunDir(),
        "run",
        "-t",
        "loop",
        "-f",
        img,
        "--bench",
        "rw=verify,bs=4k,n=100000000",
      );
      const reader = child.stderr.getReader();
      let stderr = await readUntil(reader, "added /dev/ublkb");
      await new Promise((r) => setTimeout(r, 500));
      const sent = performance.now();
      child.kill(sig);
      const [status, stdout, rest] = await Promise.all([
        child.status,
        new Response(child.stdout).text(),
        readRest(reader),
      ]);
      stderr += rest;
      assert.equal(status.code, 130, stderr);
      assert.ok(performance.now() - sent < 10_000, "reacted promptly");
      assert.match(stdout, /^verify .*\(interrupted\)\n$/);
      assert.match(stderr, /ublk: deleted \/dev\/ublkb\d/);
    } finally {
      await Deno.remove(img);
    }
  });
}

Deno.test("`ublk run -t null` (SIGTERM during a timed run) prints the result and exits 130", async () => {
  const child = spawnUblk(testRunDir(), "run", "-t", "null", "--bench", "time=60s");
  const reader = child.stderr.getReader();
  await readUntil(reader, "added /dev/ublkb");
  child.kill("SIGTERM");
  const [status, stdout, stderr] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    readRest(reader),
  ]);
  assert.equal(status.code, 130);
  assert.match(stdout, /IOPS.*\(interrupted\)\n$/);
  assert.match(stderr, /deleted \/dev\/ublkb/);
});

Deno.test("`--bench` checks that need the device size run before any device exists", async () => {
  await usageError(
    ["run", "-t", "null", "--bench", "size=1k,bs=4k"],
    /bs=4k: the region is only 1k/,
  );
  await usageError(
    ["run", "-t", "null", "--size", "1m", "--bench", "rw=verify,size=2m"],
    /size=2m: larger than the device \(1m\)/,
  );
  const img = await dataFile(1 << 20);
  try {
    await usageError(
      ["run", "-t", "loop", "-f", img, "--bench", "rw=read,size=4m"],
      /larger than the device/,
    );
  } finally {
    await Deno.remove(img);
  }
});

Deno.test("`-q -1` is a range error, not 'argument is ambiguous'", async () => {
  await usageError(
    ["run", "-t", "null", "-q", "-1"],
    /'--queues' must be a whole number .* got '-1'/,
  );
  await usageError(
    ["run", "-t", "null", "--depth", "-5"],
    /'--depth' must be a whole number .* got '-5'/,
  );
});

Deno.test("ublksrv spellings with underscores are accepted", async () => {
  // Recognised (so it reaches the target check) rather than an unknown option.
  await usageError(["run", "-t", "null", "--buffered_io"], /--buffered-io is for the loop target/);
  await usageError(
    ["add", "-t", "null", "--need_get_data", "-z"],
    /-g \(NEED_GET_DATA\) is for copy mode/,
  );
  await usageError(
    ["add", "-t", "null", "--user_copy", "--auto_zc"],
    /give one data mode, not -u and --auto-zc/,
  );
});

Deno.test("`ublk bench --help` does not list -z, and the help says what O_DIRECT really does", async () => {
  const b = await ublk("bench", "--help");
  assert.equal(b.code, 0);
  assert.match(b.stdout, /except the data modes/);
  assert.doesNotMatch(b.stdout, /-z, --zero-copy/);
  assert.match(b.stdout, /--zc-mode MODE +the zero-copy side: fused \(default\)/);
  const r = await ublk("run", "--help");
  assert.match(r.stdout, /-z, --zero-copy/);
  assert.match(r.stdout, /-u, --user-copy +UBLK_F_USER_COPY/);
  assert.match(r.stdout, /--auto-zc-fallback/);
  assert.match(r.stdout, /sync backend of the\s+model always goes through the page cache/);
  assert.doesNotMatch(r.stdout, /default O_DIRECT, as ublksrv/);
});

Deno.test("fio's workload keys are accepted and documented; a repeated key is an error", async () => {
  const r = await ublk(
    "run",
    "-t",
    "null",
    "--json",
    "--bench",
    "readwrite=randread,blocksize=8k,iodepth=4,numjobs=2,number_ios=200,runtime=5s",
  );
  assert.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.workload, "rw=randread,bs=8k,qd=8,n=200,time=5s");
  assert.equal(j.ios, 200);
  const help = (await ublk("run", "--help")).stdout;
  for (const k of ["iodepth", "runtime", "blocksize", "numjobs", "readwrite"]) {
    assert.ok(help.includes(k), `run --help documents ${k}`);
  }
  await usageError(["run", "-t", "null", "--bench", "bs=4k,bs=8k"], /"bs" twice/);
  await usageError(["run", "-t", "null", "--bench", "qd=4,iodepth=8"], /"iodepth" twice \(qd=4/);
  await usageError(["run", "-t", "null", "--size", "1g", "--size", "2g"], /'--size' given twice/);
});

Deno.test("a write workload on a loop file holding data needs --force; --read-only refuses it", async () => {
  const img = await dataFile(4 << 20);
  try {
    const before = await Deno.readFile(img);
    for (const rw of ["write", "randwrite", "randrw", "verify"]) {
      await usageError(
        ["run", "-t", "loop", "-f", img, "--bench", `rw=${rw},n=10`],
        new RegExp(`rw=${rw} would overwrite .*give --force`),
      );
      await usageError(
        ["run", "-t", "loop", "-f", img, "--read-only", "--force", "--bench", `rw=${rw},n=10`],
        /--read-only/,
      );
    }
    assert.deepEqual(await Deno.readFile(img), before, "nothing was written");
    const ro = await ublk(
      "run",
      "-t",
      "loop",
      "-f",
      img,
      "--read-only",
      "--bench",
      "rw=randread,n=50",
    );
    assert.equal(ro.code, 0, ro.stderr);
    assert.match(ro.stderr, /read-only/);
    const forced = await ublk(
      "run",
      "-t",
      "loop",
      "-f",
      img,
      "--force",
      "--bench",
      "rw=write,n=20",
    );
    assert.equal(forced.code, 0, forced.stderr);
    assert.notDeepEqual(await Deno.readFile(img), before, "--force wrote");
  } finally {
    await Deno.remove(img);
  }
  // A file that is all holes (just made with truncate) holds nothing to lose.
  const fresh = await Deno.makeTempFile({ prefix: "ublk_fix_", suffix: ".img" });
  try {
    await Deno.truncate(fresh, 4 << 20);
    const r = await ublk("run", "-t", "loop", "-f", fresh, "--bench", "rw=write,n=20");
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await Deno.remove(fresh);
  }
});

Deno.test("`ublk -v`, `ublk help -t loop` and `ublk help -t nbd` show what users look for", async () => {
  for (const v of ["-v", "-V", "--version"]) {
    assert.match((await ublk(v)).stdout, /^ublk \d+\.\d+\.\d+\n$/);
  }
  const loop = await ublk("help", "-t", "loop");
  assert.equal(loop.code, 0);
  assert.match(loop.stdout, /truncate -s 256M disk\.img/);
  const nbd = await ublk("help", "-t", "nbd");
  assert.match(nbd.stdout, /nbdkit -U \/tmp\/nbd\.sock memory 256M/);
  await usageError(["help", "-t", "bogus"], /unknown target type 'bogus'/);
});

Deno.test("nbd flags: --timeout and --reconnect N are checked and passed on", async () => {
  await usageError(["run", "-t", "null", "--timeout", "5"], /--timeout is for the nbd target/);
  await usageError(
    ["run", "-t", "nbd", "--unix", "/x", "--timeout", "soon"],
    /--timeout must be seconds/,
  );
  await usageError(["run", "-t", "nbd", "--unix", "/x", "--reconnect", "x"], /--reconnect/);
  await usageError(["run", "-t", "null", "--reconnect", "2"], /--reconnect is for the nbd target/);
  // -z reconnects too: the option is accepted and the connect fails on the socket.
  const z = await ublk(
    "run",
    "-t",
    "nbd",
    "--unix",
    "/nonexistent/nbd.sock",
    "-z",
    "--reconnect",
    "2",
  );
  assert.equal(z.code, 1);
  assert.match(z.stderr, /ENOENT/);
  // A valid --timeout reaches the target: the connect fails on the socket, not on the option.
  const r = await ublk("run", "-t", "nbd", "--unix", "/nonexistent/nbd.sock", "--timeout", "5");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /ENOENT/);
});
