// The live view's reconnect backoff and the mapping of API issue paths onto the editor.
import assert from "node:assert/strict";
import { test } from "node:test";
import { targetOf } from "../src/editor/types.ts";
import { backoff, FIRST_DELAY_MS, MAX_DELAY_MS } from "../src/live/targets.ts";

test("backoff doubles from 0.5 s to a 15 s cap, within ±20% jitter", () => {
  for (let n = 0; n < 12; n++) {
    const base = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** n);
    assert.equal(backoff(n, () => 0.5), base);
    assert.equal(backoff(n, () => 0), Math.round(base * 0.8));
    assert.equal(backoff(n, () => 1), Math.round(base * 1.2));
  }
});

test("issue paths point at a zone, a vertex or a field", () => {
  assert.deepEqual(targetOf("zones.2.vertices.3"), { zone: 2, vertex: 3, field: "vertices" });
  assert.deepEqual(targetOf("zones.0.vertices"), { zone: 0, vertex: null, field: "vertices" });
  assert.deepEqual(targetOf("zones.1.name"), { zone: 1, vertex: null, field: "name" });
  assert.deepEqual(targetOf("sensitivity"), { zone: null, vertex: null, field: "sensitivity" });
  assert.deepEqual(targetOf(""), { zone: null, vertex: null, field: null });
});
