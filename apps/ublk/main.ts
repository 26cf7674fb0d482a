/**
 * The `ublk` executable: `deno run -A apps/ublk/main.ts <command> [options]`. See `ublk --help`.
 *
 * @module
 */

import { main } from "./cli.ts";

export { main };

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
