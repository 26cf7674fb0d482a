import assert from "node:assert/strict";
import {
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
        "-z",
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
    "nbd localhost:1234, 2 queues x 64 tags, zero copy (send_zc), native io_uring backend",
  );
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
