import assert from "node:assert/strict";
import { RsrcNode } from "./rsrc_node.ts";

Deno.test("`RsrcNode` starts with one reference and frees once at zero", () => {
  const freed: RsrcNode<string>[] = [];
  const n = new RsrcNode("x", 3, (node) => freed.push(node));
  assert.equal(n.value, "x");
  assert.equal(n.index, 3);
  assert.equal(n.refs, 1);
  assert.equal(n.freed, false);
  assert.equal(n.ref(), n);
  assert.equal(n.refs, 2);
  n.put();
  assert.deepEqual(freed, []);
  n.put();
  assert.deepEqual(freed, [n]);
  assert.equal(n.freed, true);
  assert.equal(n.refs, 0);
});

Deno.test("`RsrcNode.ref()` and `put()` throw RangeError once freed", () => {
  let calls = 0;
  const n = new RsrcNode(1, 0, () => calls++);
  n.put();
  assert.throws(() => n.put(), RangeError);
  assert.throws(() => n.ref(), RangeError);
  assert.equal(calls, 1);
});

Deno.test("`RsrcNode` without onFree frees silently", () => {
  const n = new RsrcNode(new Uint8Array(1), 0);
  n.put();
  assert.equal(n.freed, true);
});
