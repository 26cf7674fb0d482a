import assert from "node:assert/strict";
import { LatencyHistogram } from "./latency_histogram.ts";

Deno.test("`LatencyHistogram` percentiles stay within the bucket precision", () => {
  const h = new LatencyHistogram();
  for (let i = 1; i <= 10_000; i++) h.record(i * 100); // 100 ns .. 1 ms, uniform
  assert.equal(h.count, 10_000);
  assert.ok(Math.abs(h.mean - 500_050) < 1);
  for (const [p, want] of [[50, 500_000], [99, 990_000], [100, 1_000_000]]) {
    const got = h.percentile(p!);
    assert.ok(Math.abs(got - want!) <= want! * 0.07, `p${p}: ${got} vs ${want}`);
  }
  assert.equal(h.max, 1_000_000);
});

Deno.test("`LatencyHistogram` handles tiny, huge and negative samples", () => {
  const h = new LatencyHistogram();
  h.record(-5);
  h.record(3);
  h.record(5e12); // over an hour
  assert.equal(h.count, 3);
  assert.equal(h.percentile(0), 0);
  assert.equal(h.percentile(50), 3);
  assert.ok(h.percentile(100) > 1e12);
  assert.throws(() => h.percentile(101), RangeError);
  h.reset();
  assert.equal(h.count, 0);
  assert.equal(h.percentile(99), 0);
});
