/**
 * The `ublk` CLI on the real `ublk_drv`, inside the VM of `scripts/real_kernel.sh` (bundled to
 * `/test/cli.js`; the CLI itself is bundled to `/test/ublk.js`). Every step is a separate
 * process, as a user's shell would run them: `ublk add` returns with a real `/dev/ublkbN` served
 * by its daemon; `ublk list --json` from another process shows it; busybox `dd` (and `fio` when
 * the guest has it) read and write the device from other processes, checked against the backing
 * file; `ublk del` removes it; a daemon killed with SIGKILL leaves a QUIESCED device (`-r 1`)
 * that `ublk recover -n` hands to a new daemon; `ublk del -a` removes everything.
 *
 * Prints `CLI: …` lines, `CLI: FAIL …` for each failed check, and exits 0 when all passed.
 *
 * @module
 */

import {
  alive,
  exists,
  firstDiff,
  guestCli,
  type Listed,
  run as runIn,
  waitFor,
} from "./_guest.ts";

const UBLK = Deno.env.get("CLI_UBLK") ?? "/test/ublk.js";
const RUN_DIR = "/tmp/ublk-run";
const { ublk, list } = guestCli(UBLK, RUN_DIR);
const run = (cmd: string, args: string[]): ReturnType<typeof runIn> => runIn(cmd, args, RUN_DIR);
const t0 = performance.now();
let failures = 0;
let stage = "start";

function say(line: string): void {
  console.log(`CLI: ${line} [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
}

function fail(line: string): void {
  failures++;
  console.log(`CLI: FAIL ${line} [${((performance.now() - t0) / 1000).toFixed(1)}s]`);
}

function check(ok: boolean, what: string): void {
  if (ok) say(`ok ${what}`);
  else fail(what);
}

const watchdog = setTimeout(() => {
  console.log(`CLI: FAIL timeout in stage "${stage}"`);
  Deno.exit(3);
}, 240_000);

const SIZE = 16 << 20;
const IMG = "/tmp/cli.img";

/** `dd` reads the whole device from another process; it must equal the backing file. */
async function ddReadEqual(dev: string, what: string): Promise<void> {
  const out = "/tmp/cli.read";
  const r = await run("dd", [`if=${dev}`, `of=${out}`, "bs=1M", `count=${SIZE >> 20}`]);
  const at = r.code === 0 ? firstDiff(Deno.readFileSync(out), Deno.readFileSync(IMG)) : -2;
  check(
    at === -1,
    `${what}: dd read of ${dev} equals the backing file (dd exit ${r.code}, diff ${at})`,
  );
}

async function main(): Promise<void> {
  stage = "setup";
  const data = new Uint8Array(SIZE);
  for (let i = 0; i < SIZE; i += 4) data[i] = (i * 2654435761) >>> 24;
  Deno.writeFileSync(IMG, data);
  const v = await ublk("--version");
  check(v.code === 0 && /^ublk \d/.test(v.out), `ublk --version: ${v.out}`);
  const f = await ublk("features", "--json");
  const fj = f.code === 0 ? JSON.parse(f.out) : {};
  check(
    fj.kernel?.present === true && typeof fj.kernel?.mask === "string",
    `features --json: kernel ${fj.kernel?.mask}`,
  );

  stage = "add";
  const add = await ublk("add", "-t", "loop", "-f", IMG, "-q", "2", "-d", "32", "-r", "1");
  check(add.code === 0, `ublk add -t loop -r 1 returned ${add.code} ${add.err}`);
  say(add.out.split("\n")[0] ?? "");
  let [d] = await list();
  check(
    d !== undefined && d.kernel === "real" && d.state === "LIVE" && d.alive,
    `list --json: ${JSON.stringify(d)}`,
  );
  if (!d) return;
  const dev = d.path;
  check(exists(dev), `${dev} exists`);
  check(d.size === SIZE, `size ${d.size}`);
  await ddReadEqual(dev, "after add");

  stage = "dd write";
  const block = new Uint8Array(1 << 20).fill(0x5a);
  Deno.writeFileSync("/tmp/cli.block", block);
  const w = await run("dd", [
    "if=/tmp/cli.block",
    `of=${dev}`,
    "bs=1M",
    "seek=3",
    "count=1",
    "conv=fsync",
  ]);
  check(w.code === 0, `dd write 1 MiB at 3 MiB (exit ${w.code} ${w.err})`);
  const file = Deno.readFileSync(IMG);
  check(
    firstDiff(file.subarray(3 << 20, 4 << 20), block) === -1,
    "the backing file holds what dd wrote",
  );

  if (exists("/bin/fio")) {
    stage = "fio";
    const fio = await run("/bin/fio", [
      "--name=cli",
      `--filename=${dev}`,
      "--ioengine=io_uring",
      "--direct=1",
      "--rw=randwrite",
      "--bs=4k-64k",
      "--size=8M",
      "--iodepth=16",
      "--verify=crc32c",
      "--do_verify=1",
    ]);
    check(
      fio.code === 0 && !/verify: bad/.test(fio.out + fio.err),
      `fio --verify=crc32c on ${dev} (exit ${fio.code})`,
    );
  } else say("fio absent: skipped the fio job");

  stage = "del";
  const del = await ublk("del", "-n", String(d.dev_id));
  check(del.code === 0, `ublk del -n ${d.dev_id}: ${del.err}`);
  check(await waitFor(() => !exists(dev), 10_000), `${dev} is gone after del`);
  check(!alive(d.pid), "the daemon exited");
  check((await list()).length === 0, "list is empty after del");

  stage = "kill -9 and recover";
  const add2 = await ublk("add", "-t", "loop", "-f", IMG, "-r", "1");
  check(add2.code === 0, `ublk add again: ${add2.err}`);
  [d] = await list();
  if (!d) return;
  Deno.kill(d.pid, "SIGKILL");
  check(await waitFor(() => !alive(d!.pid), 10_000), `daemon pid ${d.pid} killed with SIGKILL`);
  let quiesced: Listed | undefined;
  for (let i = 0; i < 100; i++) {
    [quiesced] = await list();
    if (quiesced?.state === "QUIESCED") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  check(
    quiesced?.state === "QUIESCED" && quiesced.alive === false,
    `after SIGKILL: ${JSON.stringify(quiesced)}`,
  );
  const rec = await ublk("recover", "-n", String(d.dev_id));
  check(rec.code === 0, `ublk recover -n ${d.dev_id}: ${rec.out} ${rec.err}`);
  const [after] = await list();
  check(
    after?.state === "LIVE" && after.alive && after.pid !== d.pid,
    `after recover: ${JSON.stringify(after)}`,
  );
  await ddReadEqual(d.path, "after recover");

  stage = "del -a";
  const add3 = await ublk("add", "-t", "null", "--size", "64m");
  check(add3.code === 0, `ublk add -t null: ${add3.err}`);
  const two = await list();
  check(two.length === 2, `two devices listed (${two.map((x) => x.path).join(" ")})`);
  const all = await ublk("del", "-a");
  check(all.code === 0, `ublk del -a: ${all.err}`);
  check(await waitFor(() => two.every((x) => !exists(x.path)), 10_000), "every device is gone");
  check((await list()).length === 0, "list is empty after del -a");
}

try {
  await main();
} catch (e) {
  fail(`stage "${stage}" threw: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
}
clearTimeout(watchdog);
say(failures === 0 ? "all CLI checks passed" : `${failures} failures`);
Deno.exit(failures === 0 ? 0 : 1);
