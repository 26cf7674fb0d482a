// Subprocess for load_test.ts: tries loadNative() and prints the outcome as one JSON line.
import { loadNative, NativeUnavailableError } from "../mod.ts";
try {
  const lib = loadNative();
  console.log(JSON.stringify({ ok: true, path: lib.path }));
} catch (e) {
  console.log(JSON.stringify({
    ok: false,
    name: (e as Error).name,
    typed: e instanceof NativeUnavailableError,
    reason: (e as NativeUnavailableError).reason,
    cause: ((e as Error).cause as Error | undefined)?.name,
  }));
}
