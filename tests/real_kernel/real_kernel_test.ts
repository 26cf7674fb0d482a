import assert from "node:assert/strict";

const enabled = Deno.env.get("UBLK_REAL_KERNEL") === "1";
const script = new URL("../../scripts/real_kernel.sh", import.meta.url).pathname;

Deno.test({
  name: "scripts/real_kernel.sh passes on the real 6.12 ublk_drv in a VM" +
    (enabled ? "" : " (skipped: set UBLK_REAL_KERNEL=1; it downloads ~35 MB and boots QEMU)"),
  ignore: !enabled,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(): Promise<void> {
    const t0 = performance.now();
    const out = await new Deno.Command("bash", {
      args: [script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const log = new TextDecoder().decode(out.stderr);
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    const failures = text.split("\n").filter((l) => l.startsWith("PROBE: FAIL")).join("\n");
    assert.match(
      text,
      /REAL_KERNEL: PASS/,
      `no PASS line after ${secs}s (exit ${out.code})\n${failures}\n${log.slice(-2000)}`,
    );
    assert.equal(out.code, 0);
    assert.match(text, /PROBE: whole device \(\d+ bytes\) reads back equal to the backing store/);
    assert.match(text, /PROBE: STOP_DEV and DEL_DEV returned 0/);
    // The served devices came up through createDevice() on NativeKernel (no test-only bring-up).
    assert.match(text, /PROBE: device \d+ started: /);
    assert.match(text, /PROBE: read through the recovered server matches the RAM disk/);
    // The `ublk` CLI as separate processes on the real driver (tests/real_kernel/cli_probe.ts).
    const cliFailures = text.split("\n").filter((l) => l.startsWith("CLI: FAIL")).join("\n");
    assert.match(text, /CLI: all CLI checks passed/, cliFailures);
    assert.match(text, /CLI: ok list --json: \{"dev_id":0,[^\n]*"kernel":"real"/);
    assert.match(text, /CLI: ok after SIGKILL: [^\n]*"state":"QUIESCED"/);
    assert.match(text, /CLI: ok after recover: dd read of \/dev\/ublkb0 equals the backing file/);
    assert.match(text, /CLI: ok list is empty after del -a/);
    console.log(`real_kernel.sh passed in ${secs}s`);
  },
});
