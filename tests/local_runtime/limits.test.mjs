// The local host refuses what Cloudflare's platform refuses, with the platform's errors.
// Run by tests/unit/tools/test_local_runtime.py (node --test).
import assert from "node:assert/strict";
import { test } from "node:test";
import { D1Database, KvNamespace, d1Value } from "../../scripts/local_runtime/bindings.mjs";
import { LIMITS, checkStatement, runInvocation } from "../../scripts/local_runtime/limits.mjs";
import { endToEnd } from "../../scripts/local_runtime/edge.mjs";

// A bridge that answers every call: the limits are checked before anything is sent.
const bridge = { calls: 0, async call() { this.calls++; return { results: [], meta: {} }; } };
const db = new D1Database(bridge, "DB");

test("D1 bind() refuses BigInt, undefined and objects with D1's error", () => {
  assert.throws(() => d1Value(2n ** 63n), /D1_TYPE_ERROR: Type 'bigint' not supported for value '9223372036854775808'/);
  assert.throws(() => d1Value(undefined), /D1_TYPE_ERROR: Type 'undefined'/);
  assert.throws(() => d1Value({ a: 1 }), /D1_TYPE_ERROR: Type 'object'/);
  assert.equal(d1Value(true), 1);
  assert.deepEqual(d1Value(new Uint8Array([1, 2])), [1, 2]);
  assert.equal(d1Value(null), null);
});

test("D1 refuses a bound string or blob over 2,000,000 bytes", async () => {
  assert.throws(() => checkStatement("SELECT ?", ["x".repeat(2_000_001)]), /string or blob too big: SQLITE_TOOBIG/);
  assert.throws(() => checkStatement("SELECT ?", ["é".repeat(1_000_001)]), /SQLITE_TOOBIG/); // bytes, not characters
  checkStatement("SELECT ?", ["x".repeat(2_000_000)]);
});

test("D1 takes at most 100 bound parameters per statement", async () => {
  const marks = (n) => Array(n).fill("?").join(",");
  await db.prepare(`SELECT ${marks(100)}`).bind(...Array(100).fill(1)).all();
  await assert.rejects(
    db.prepare(`SELECT ${marks(101)}`).bind(...Array(101).fill(1)).all(),
    /D1_ERROR: too many SQL variables at offset \d+: SQLITE_ERROR/,
  );
  await assert.rejects(db.prepare("SELECT ?101").bind(1).all(), /too many SQL variables/);
});

test("D1 statements are at most 100,000 bytes", async () => {
  await db.prepare(`SELECT '${"x".repeat(99_000)}'`).all();
  await assert.rejects(db.prepare(`SELECT '${"x".repeat(100_000)}'`).all(), /SQLITE_TOOBIG/);
});

test("an invocation makes at most 1,000 D1 queries (a batch is one)", async () => {
  await runInvocation(async () => {
    for (let i = 0; i < LIMITS.d1QueriesPerInvocation; i++) await db.prepare("SELECT 1").all();
    await assert.rejects(db.batch([db.prepare("SELECT 1")]), /Too many API requests by single worker invocation/);
  });
  await runInvocation(() => db.prepare("SELECT 1").all()); // the next invocation starts afresh
});

test("KV keys, values and write rates", async () => {
  const lines = [];
  const log = console.log;
  console.log = (line) => lines.push(line);
  try {
    const kv = new KvNamespace(bridge, "KV");
    await assert.rejects(kv.put("k".repeat(513), "v"), /414 UTF-8 encoded length of 513 exceeds key length limit of 512/);
    await assert.rejects(kv.put("big", new Uint8Array(LIMITS.kvValueBytes + 1)), /413 Value length/);
    await kv.put("hot", "1");
    await kv.put("hot", "2");
    assert.ok(lines.some((l) => l.includes("kv_write_rate_exceeded key=hot")), lines.join("\n"));
  } finally {
    console.log = log;
  }
});

test("hop-by-hop headers never leave a non-101 response", () => {
  const headers = new Headers({ upgrade: "websocket", connection: "Upgrade", "proxy-x": "1", "x-a": "b" });
  assert.deepEqual(endToEnd(headers), { "x-a": "b" });
});
