import assert from "node:assert/strict";
import {
  ADD_ARG_OPTIONS,
  checkDeviceOptions,
  describeDeviceOptions,
  DEVICE_ARG_OPTIONS,
  parseStrict,
  UsageError,
} from "./device_options.ts";

Deno.test("`checkDeviceOptions()` fills defaults", () => {
  const o = checkDeviceOptions(parseStrict(["-t", "null"], DEVICE_ARG_OPTIONS, "run"), "run");
  assert.deepEqual(
    [o.type, o.queues, o.depth, o.zeroCopy, o.native, o.port, o.exportName],
    ["null", 1, 128, false, false, 10809, ""],
  );
});

Deno.test("`checkDeviceOptions()` reads every option", () => {
  const o = checkDeviceOptions(
    parseStrict(
      [
        "-t",
        "nbd",
        "-q",
        "2",
        "-d",
        "64",
        "--zc-mode",
        "fused",
        "--host",
        "localhost",
        "--port",
        "1234",
        "--export-name",
        "e",
        "--send-zc",
        "--native",
      ],
      DEVICE_ARG_OPTIONS,
      "run",
    ),
    "run",
  );
  assert.deepEqual(
    [o.queues, o.depth, o.zeroCopy, o.host, o.port, o.exportName, o.sendZc, o.native],
    [2, 64, true, "localhost", 1234, "e", true, true],
  );
  assert.equal(
    describeDeviceOptions(o),
    "nbd localhost:1234, 2 queues x 64 tags, zero copy (fused, send_zc), native io_uring backend",
  );
});

Deno.test("`checkDeviceOptions()` reads the data modes (kublk's spellings too) and takes one", () => {
  const mode = (...a: string[]) => {
    const o = checkDeviceOptions(parseStrict(["-t", "null", ...a], ADD_ARG_OPTIONS, "add"), "add");
    return [
      o.dataMode,
      o.autoFallback,
      o.zeroCopy,
      describeDeviceOptions(o).replace(/^.* tags, /, ""),
    ];
  };
  assert.deepEqual(mode(), ["copy", false, false, "copy"]);
  assert.deepEqual(mode("-u"), ["user-copy", false, false, "user copy"]);
  assert.deepEqual(mode("--user_copy"), ["user-copy", false, false, "user copy"]);
  assert.deepEqual(mode("-z"), ["best", false, true, "zero copy"]);
  assert.deepEqual(mode("--auto_zc"), ["auto", false, true, "zero copy (auto-buf-reg)"]);
  assert.deepEqual(mode("--auto_zc_fallback"), [
    "auto",
    true,
    true,
    "zero copy (auto-buf-reg, fallback)",
  ]);
  assert.deepEqual(mode("--zc-mode", "register"), [
    "register",
    false,
    true,
    "zero copy (register-buf)",
  ]);
  assert.deepEqual(mode("--zc-mode=auto-forced-fallback"), [
    "auto",
    "always",
    true,
    "zero copy (auto-buf-reg, forced fallback)",
  ]);
  assert.deepEqual(mode("--zc-mode", "fused"), ["fused", false, true, "zero copy (fused)"]);
  assert.throws(() => mode("-u", "-z"), /^UsageError: add: give one data mode, not -u and -z$/);
  assert.throws(() => mode("--auto-zc", "--zc-mode", "register"), /give one data mode/);
  assert.throws(
    () => mode("--zc-mode", "rfc"),
    /^UsageError: add: unknown --zc-mode 'rfc' \(expected fused, register, auto, auto-fallback, auto-forced-fallback\)$/,
  );
  assert.throws(() => mode("-g", "-u"), /-g \(NEED_GET_DATA\) is for copy mode/);
  assert.deepEqual(mode("-g").slice(0, 1), ["copy"]);
});

Deno.test("`checkDeviceOptions()` and `parseStrict()` throw UsageError", () => {
  assert.throws(
    () => parseStrict(["-t", "null", "--bogus"], DEVICE_ARG_OPTIONS, "run"),
    UsageError,
  );
  assert.throws(() => parseStrict(["-z=1"], DEVICE_ARG_OPTIONS, "run"), UsageError);
  assert.throws(() => checkDeviceOptions({ type: "null", depth: "0" }, "run"), UsageError);
  assert.throws(() => checkDeviceOptions({ type: "null", queues: "x" }, "run"), UsageError);
  assert.throws(
    () => checkDeviceOptions({ type: "null", port: "1" }, "run"),
    /--port is for the nbd/,
  );
});

Deno.test("`checkDeviceOptions()` takes --reconnect for nbd in copy mode and with -z", () => {
  for (const z of [[], ["-z"]]) {
    const o = checkDeviceOptions(
      parseStrict(
        ["-t", "nbd", "--unix", "/x", ...z, "--reconnect", "2"],
        DEVICE_ARG_OPTIONS,
        "run",
      ),
      "run",
    );
    assert.deepEqual([o.reconnect, o.zeroCopy], [2, z.length > 0]);
  }
  assert.throws(
    () => checkDeviceOptions({ type: "null", reconnect: "2" }, "run"),
    /--reconnect is for the nbd target/,
  );
});
