import assert from "node:assert/strict";
import { LIBURING_CANDIDATES, loadNative } from "./load.ts";
import { NativeUnavailableError } from "./native_unavailable_error.ts";

const probe = new URL("./testdata/load_probe.ts", import.meta.url).pathname;

async function runProbe(
  args: string[],
  env: Record<string, string> = {},
): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", ...args, probe],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(new TextDecoder().decode(out.stderr).trim(), "", "nothing printed on stderr");
  return JSON.parse(text);
}

Deno.test("`loadNative()` throws NativeUnavailableError for a missing library", () => {
  assert.throws(
    () => loadNative({ path: "/nonexistent/liburing.so.2" }),
    (e: unknown) =>
      e instanceof NativeUnavailableError && e.reason === "library" && e.cause instanceof Error &&
      /liburing/.test(e.message),
  );
});

Deno.test("`loadNative()` reports a library without liburing's symbols as reason symbol", () => {
  assert.throws(
    () => loadNative({ path: "libc.so.6" }),
    (e: unknown) => e instanceof NativeUnavailableError && e.reason === "symbol",
  );
});

Deno.test("`loadNative()` loads liburing once and caches it", () => {
  const a = loadNative();
  const b = loadNative();
  assert.equal(a, b);
  assert.ok(LIBURING_CANDIDATES.includes(a.path));
  assert.equal(typeof a.liburing.io_uring_queue_init_params, "function");
});

Deno.test("`loadNative()` with a bad LIBURING_PATH fails typed, without fallback", async () => {
  const r = await runProbe(["--allow-ffi", "--allow-env", "--allow-read"], {
    LIBURING_PATH: "/nonexistent/liburing-x.so",
  });
  assert.deepEqual(r, {
    ok: false,
    name: "NativeUnavailableError",
    typed: true,
    reason: "library",
    cause: "Error",
  });
});

Deno.test("`loadNative()` honours a good LIBURING_PATH", async () => {
  const path = "/usr/lib/x86_64-linux-gnu/liburing.so.2";
  const r = await runProbe(["--allow-ffi", "--allow-env", "--allow-read"], { LIBURING_PATH: path });
  assert.deepEqual(r, { ok: true, path });
});

Deno.test("`loadNative()` without --allow-ffi fails typed with reason permission", async () => {
  const r = await runProbe(["--allow-env", "--allow-read"]);
  assert.equal(r.ok, false);
  assert.equal(r.typed, true);
  assert.equal(r.reason, "permission");
  assert.match(String(r.cause), /NotCapable|PermissionDenied/);
});
