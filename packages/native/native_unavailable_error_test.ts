import assert from "node:assert/strict";
import { NativeUnavailableError } from "./native_unavailable_error.ts";

Deno.test("`NativeUnavailableError` carries reason, cause and its name", () => {
  const cause = new Error("dlopen failed");
  const e = new NativeUnavailableError("Cannot load liburing", { reason: "library", cause });
  assert.equal(e.name, "NativeUnavailableError");
  assert.equal(e.reason, "library");
  assert.equal(e.cause, cause);
  assert.equal(e.message, "Cannot load liburing");
  assert.ok(e instanceof Error);
  assert.equal(new NativeUnavailableError("x", { reason: "permission" }).cause, undefined);
});
