// The host's queue journal (scripts/local_runtime/queue_journal.mjs): what a producer's send()
// was accepted for and no consumer settled survives a killed host, as on Cloudflare.
// Run by tests/unit/tools/test_local_runtime.py (node --test).
import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { QueueJournal } from "../../scripts/local_runtime/queue_journal.mjs";

const fresh = () => path.join(mkdtempSync(path.join(os.tmpdir(), "rs1-journal-")), "journal.jsonl");
const row = (n) => ({ v: 1, device_id: "d", message_id: `m-${n}` });

test("open messages outlive the process; settled ones do not", () => {
  const file = fresh();
  const first = new QueueJournal(file, { TELEMETRY_QUEUE: "ingest" });
  assert.equal(first.queueOf("TELEMETRY_QUEUE"), "ingest");
  first.put("ingest", [row(1), row(2), row(3)].map((body) => ({ body, contentType: undefined })));
  first.done("ingest", [row(2)]);
  // The host is killed here; a new one reads the journal.
  const second = new QueueJournal(file);
  const open = second.recover();
  assert.deepEqual(open.map((m) => m.body.message_id), ["m-1", "m-3"]);
  assert.equal(second.openCount(), 2);
  // Recovery rewrote the file to just the open messages: a second crash finds the same.
  assert.deepEqual(new QueueJournal(file).recover().map((m) => m.body.message_id), ["m-1", "m-3"]);
});

test("equal bodies count each; a settle without a put changes nothing", () => {
  const file = fresh();
  const journal = new QueueJournal(file);
  journal.put("q", [{ body: row(1) }, { body: row(1) }]);
  journal.done("q", [row(1), row(9)]);
  assert.equal(journal.openCount(), 1);
  assert.equal(new QueueJournal(file).recover().length, 1);
});

test("a line cut by a kill mid-write is skipped, the rest recovered", () => {
  const file = fresh();
  new QueueJournal(file).put("q", [{ body: row(1), contentType: "json" }]);
  appendFileSync(file, '{"op":"put","q":"q","b":{"v":1,"dev');
  const open = new QueueJournal(file).recover();
  assert.deepEqual(open, [{ queue: "q", body: row(1), contentType: "json" }]);
});

test("the journal is compacted as it grows, keeping exactly the open messages", () => {
  const file = fresh();
  const journal = new QueueJournal(file);
  for (let n = 0; n < 12_000; n++) {
    journal.put("q", [{ body: row(n) }]);
    if (n % 4) journal.done("q", [row(n)]);
  }
  const lines = readFileSync(file, "utf8").trim().split("\n").length;
  assert.ok(lines < 20_000, `compacted: ${lines} lines`);
  assert.equal(new QueueJournal(file).recover().length, 3_000);
});
