// The 409 path's pure parts: what changed, and the three-way merge onto the winning version.
import assert from "node:assert/strict";
import { test } from "node:test";
import { changes, merge } from "../src/editor/merge.ts";
import type { Zone, ZoneConfig } from "../src/editor/types.ts";

const zone = (name: string, x = 0): Zone => ({
  name, type: "include", vertices: [[x, 1000], [x + 500, 1000], [x + 500, 1500]],
});
const config = (zones: Zone[], sensitivity = 5): ZoneConfig => ({ zones, sensitivity, hold_time_s: 30 });

test("changes names added, removed and changed zones and settings", () => {
  const base = config([zone("a"), zone("b")]);
  const next = config([zone("a", 100), zone("c")], 7);
  assert.deepEqual(changes(base, next), [
    { kind: "changed", what: "zone a" },
    { kind: "added", what: "zone c" },
    { kind: "removed", what: "zone b" },
    { kind: "changed", what: "sensitivity 5 → 7" },
  ]);
});

test("edits to different zones and settings both survive the merge", () => {
  const base = config([zone("a")]);
  const ours = config([zone("a")], 8);
  const theirs = config([zone("a"), zone("desk", -600)]);
  const merged = merge(base, ours, theirs);
  assert.deepEqual(merged.conflicts, []);
  assert.deepEqual(merged.config.zones.map((z) => z.name), ["a", "desk"]);
  assert.equal(merged.config.sensitivity, 8);
});

test("where both changed the same zone, ours wins and the conflict is listed", () => {
  const base = config([zone("a")]);
  const merged = merge(base, config([zone("a", 100)]), config([zone("a", -100)]));
  assert.deepEqual(merged.conflicts, ["zone a"]);
  assert.deepEqual(merged.config.zones, [zone("a", 100)]);
});

test("a zone we removed and they changed is kept, and said so", () => {
  const base = config([zone("a"), zone("b")]);
  const merged = merge(base, config([zone("a")]), config([zone("a"), zone("b", 300)]));
  assert.deepEqual(merged.config.zones.map((z) => z.name), ["a", "b"]);
  assert.equal(merged.conflicts.length, 1);
});

test("a zone we removed that they left alone is removed; their additions stay", () => {
  const base = config([zone("a"), zone("b")]);
  const merged = merge(base, config([zone("a")]), config([zone("a"), zone("b"), zone("c")]));
  assert.deepEqual(merged.config.zones.map((z) => z.name), ["a", "c"]);
});
