import assert from "node:assert/strict";

/**
 * `UBLK_REAL_KERNEL`: `0` (or unset) skips; `1` or `all` boots Debian's 6.12 and the newest
 * Debian kernel in turn; `6.12`, `newest` or a version prefix (`7.2.13`) boots that one.
 */
const sel = Deno.env.get("UBLK_REAL_KERNEL") ?? "0";
const kernels = sel === "0" ? [] : sel === "1" || sel === "all" ? ["6.12", "newest"] : [sel];
const script = new URL("../../scripts/real_kernel.sh", import.meta.url).pathname;

interface Matrix {
  kernel: string;
  cases: number;
  passed: number;
  bytesVerified: number;
  killsSurvived: number;
  refusals: number;
  knownBugs: number;
  failures: number;
}

for (const k of kernels.length > 0 ? kernels : ["6.12", "newest"]) {
  Deno.test({
    name: `scripts/real_kernel.sh passes on the real ublk_drv of ${k} in a VM` +
      (kernels.length > 0
        ? ""
        : " (skipped: set UBLK_REAL_KERNEL=1; it downloads ~35–90 MB per kernel and boots QEMU)"),
    ignore: kernels.length === 0,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(): Promise<void> {
      const t0 = performance.now();
      const out = await new Deno.Command("bash", {
        args: [script],
        env: { REAL_KERNEL: k },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      const log = new TextDecoder().decode(out.stderr);
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      const failures = text.split("\n").filter((l) => /^(PROBE|CLI|MATRIX): FAIL/.test(l)).join(
        "\n",
      );
      assert.match(
        text,
        /REAL_KERNEL: PASS/,
        `no PASS line after ${secs}s (exit ${out.code})\n${failures}\n${log.slice(-2000)}`,
      );
      assert.equal(out.code, 0);
      const release = /GUEST: kernel (\S+)/.exec(text)?.[1] ?? "?";
      if (k === "6.12") assert.match(release, /^6\.12\./);
      else if (k === "newest") assert.ok(Number(release.split(".")[0]) >= 7, release);
      assert.match(text, /PROBE: whole device \(\d+ bytes\) reads back equal to the backing store/);
      assert.match(text, /PROBE: STOP_DEV and DEL_DEV returned 0/);
      // The served devices came up through createDevice() on NativeKernel (no test-only bring-up).
      assert.match(text, /PROBE: device \d+ started: /);
      assert.match(text, /PROBE: read through the recovered server matches the RAM disk/);
      // The `ublk` CLI as separate processes on the real driver (tests/real_kernel/cli_probe.ts).
      assert.match(text, /CLI: all CLI checks passed/);
      assert.match(text, /CLI: ok list --json: \{"dev_id":0,[^\n]*"kernel":"real"/);
      assert.match(text, /CLI: ok after SIGKILL: [^\n]*"state":"QUIESCED"/);
      assert.match(text, /CLI: ok after recover: dd read of \/dev\/ublkb0 equals the backing file/);
      assert.match(text, /CLI: ok list is empty after del -a/);
      // The kublk-style matrix (tests/real_kernel/matrix_probe.ts).
      assert.match(text, /MATRIX: all matrix checks passed/);
      const mj = /MATRIX-JSON (\{[^\n]*\})/.exec(text);
      assert.ok(mj !== null, "the matrix printed its summary");
      const m = JSON.parse(mj[1]!) as Matrix;
      assert.equal(m.failures, 0);
      assert.equal(m.passed, m.cases);
      // Every mode both the kernel and the server library have (tests/real_kernel/matrix_probe.ts):
      // 6.12 has USER_COPY (bit 7) but no buffer registration; 6.16+ has all of them.
      const modes = /MATRIX: modes: ([^\[\n]*) \[/.exec(text)?.[1];
      const newest = Number(release.split(".")[0]) >= 7;
      assert.equal(
        modes,
        newest
          ? "copy, copy with NEED_GET_DATA, user copy, register zero copy, auto zero copy, auto zero copy with fallback"
          : "copy, copy with NEED_GET_DATA, user copy",
      );
      const nModes = modes!.split(", ").length;
      // per mode: null, loop, stripe, mirror, kill, recovery; nbd in the three copy modes (copy,
      // NEED_GET_DATA, user copy); delete under I/O;
      // refusals: the modes the kernel lacks, -z on 6.12, the RFC fused mode
      const refusals = newest ? 1 : 6 - nModes + 2;
      assert.equal(m.refusals, refusals);
      assert.equal(m.cases, nModes * 6 + 3 + 1 + refusals);
      assert.equal(m.killsSurvived, nModes * 2);
      if (!newest) {
        assert.match(
          text,
          /MATRIX: ok refused -z: [^\n]*zero copy needs UBLK_F_SUPPORT_ZERO_COPY: this kernel \(6\.12\) has USER_COPY; use -u/,
        );
      }
      assert.ok(m.bytesVerified > 0);
      const retries = text.split("\n").filter((l) => l.startsWith("REAL_KERNEL-RETRY")).join("; ");
      console.log(
        `real_kernel.sh on ${release} passed in ${secs}s: matrix ${m.cases} cases, ` +
          `${m.bytesVerified} bytes verified, ${m.killsSurvived} kills survived, ` +
          `${m.refusals} refusals (modes: ${modes}), ` +
          `${m.knownBugs} known-bug lines${retries === "" ? "" : `; ${retries}`}`,
      );
    },
  });
}
