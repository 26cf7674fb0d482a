import assert from "node:assert/strict";
import { formatCount, formatLatency, formatSize, parseDuration, parseSize } from "./units.ts";

Deno.test("`parseSize()` reads binary suffixes and rejects junk", () => {
  assert.equal(parseSize("512", "x"), 512);
  assert.equal(parseSize("64K", "x"), 65536);
  assert.equal(parseSize("1MiB", "x"), 1 << 20);
  assert.equal(parseSize("2g", "x"), 2 * 1024 ** 3);
  assert.equal(parseSize("1.5k", "x"), 1536);
  assert.throws(() => parseSize("4q", "bs"), /Cannot parse bs "4q"/);
  assert.throws(() => parseSize("-1", "bs"), RangeError);
  assert.throws(() => parseSize("0.3", "bs"), /whole number/);
});

Deno.test("`parseDuration()` reads ms, s, m and bare seconds", () => {
  assert.equal(parseDuration("250ms", "t"), 250);
  assert.equal(parseDuration("2", "t"), 2000);
  assert.equal(parseDuration("1.5s", "t"), 1500);
  assert.equal(parseDuration("2m", "t"), 120_000);
  assert.throws(() => parseDuration("soon", "time"), /Cannot parse time "soon"/);
});

Deno.test("`formatSize()`, `formatCount()` and `formatLatency()` print short units", () => {
  assert.equal(formatSize(512), "512");
  assert.equal(formatSize(4096), "4k");
  assert.equal(formatSize(250 * 1024 ** 3), "250g");
  assert.equal(formatSize(1536 * 1024), "1.5m");
  assert.equal(formatCount(999), "999");
  assert.equal(formatCount(1_250_000), "1.25M");
  assert.equal(formatLatency(850), "850ns");
  assert.equal(formatLatency(3_100_000), "3.10ms");
  assert.equal(formatLatency(2e9), "2.00s");
});
