// Cloudflare Queues on the local host (scripts/local_runtime/queues.mjs): the producer binding
// refuses what Cloudflare refuses, with its errors; a batch records ack()/retry() as workerd
// does; through Miniflare's real broker and the bridge Worker: batch size and timeout, retries
// with attempts, the dead-letter queue; and the Python SDK's view of a batch on the host.
// Run by tests/unit/tools/test_local_runtime.py (node --test).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { loadPyodide } from "pyodide";
import { Bridge, D1Database } from "../../scripts/local_runtime/bindings.mjs";
import { LIMITS, runInvocation } from "../../scripts/local_runtime/limits.mjs";
import {
  BatchResult,
  QueueController,
  QueueService,
  WorkerQueue,
  bridgeQueueOptions,
  toInt,
} from "../../scripts/local_runtime/queues.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const runtime = path.join(root, "scripts/local_runtime");

// A bridge that takes every call and remembers it: the checks run before anything is sent.
function fakeBridge() {
  return {
    calls: [],
    async call(kind, binding, payload) {
      this.calls.push({ kind, binding, payload });
      return { result: { metadata: { metrics: { backlogCount: 0, backlogBytes: 0 } } } };
    },
  };
}

const text = (n) => "x".repeat(n); // JSON "xxx…": n + 2 bytes

describe("the producer binding refuses what Cloudflare refuses", () => {
  test("bodies and content types, with workerd's TypeErrors", async () => {
    const q = new WorkerQueue(fakeBridge(), "Q");
    await assert.rejects(q.send(undefined), { name: "TypeError", message: "Message body cannot be undefined" });
    await assert.rejects(q.send("x", { contentType: "yaml" }), {
      name: "TypeError",
      message: "Unsupported queue message content type: yaml",
    });
    await assert.rejects(q.send(1, { contentType: "text" }), {
      name: "TypeError",
      message: 'Content Type "text" requires a value of type string, but received: number',
    });
    await assert.rejects(q.send("x", { contentType: "bytes" }), {
      name: "TypeError",
      message: 'Content Type "bytes" requires a value of type ArrayBufferView, but received: string',
    });
    await assert.rejects(q.send(() => 1, { contentType: "v8" }), { name: "DataCloneError" });
    await assert.rejects(q.send(() => 1), /JSON cannot represent/);
    await assert.rejects(q.send("x", 5), /parameter 2 is not of type 'QueueSendOptions'/);
    await q.send("x", { contentType: "TEXT" }); // workerd lower-cases it
  });

  test("a message is at most 128,000 bytes with its ~100 bytes of metadata", async () => {
    const bridge = fakeBridge();
    const q = new WorkerQueue(bridge, "Q");
    await q.send(text(127_898)); // 127,900 + 100
    await assert.rejects(q.send(text(127_899)), { message: "Message size out of bounds (10204)" });
    await q.send("é".repeat(63_949), { contentType: "text" }); // 127,898 bytes of UTF-8
    await assert.rejects(q.send("é".repeat(63_951), { contentType: "text" }), /\(10204\)/);
    await q.send(new Uint8Array(127_900), { contentType: "bytes" });
    await assert.rejects(q.send(new Uint8Array(127_901), { contentType: "bytes" }), /\(10204\)/);
    assert.equal(bridge.calls.length, 3);
  });

  test("delaySeconds is an integer from 0 to 86,400 (24 hours)", async () => {
    const bridge = fakeBridge();
    const q = new WorkerQueue(bridge, "Q");
    await q.send("a", { delaySeconds: 86_400 });
    await q.send("b", { delaySeconds: 1.9 }); // a C++ int: truncated, as workerd converts it
    await q.send("c", { delaySeconds: 0 });
    await assert.rejects(q.send("x", { delaySeconds: 86_401 }), { message: "Invalid message metadata (10203)" });
    await assert.rejects(q.send("x", { delaySeconds: -1 }), /\(10203\)/);
    await assert.rejects(q.send("x", { delaySeconds: 2 ** 31 }), /Value out of range/);
    assert.deepEqual(bridge.calls.map((c) => c.payload.delaySeconds), [86_400, 1, 0]);
    assert.equal(toInt(NaN), 0);
    assert.equal(toInt("7"), 7);
  });

  test("sendBatch takes 1 to 100 messages and at most 256,000 bytes", async () => {
    const bridge = fakeBridge();
    const q = new WorkerQueue(bridge, "Q");
    const many = (n, body = "m") => Array.from({ length: n }, () => ({ body }));
    await assert.rejects(q.sendBatch([]), { name: "TypeError", message: "sendBatch() requires at least one message" });
    await assert.rejects(q.sendBatch("abc"), /parameter 1 is not of type 'Iterable<MessageSendRequest>'/);
    await assert.rejects(q.sendBatch([{}]), { name: "TypeError", message: "Message body cannot be undefined" });
    await q.sendBatch(many(LIMITS.queueBatchMessages));
    await assert.rejects(q.sendBatch(many(101)), { message: "Batch count out of bounds (10206)" });
    await q.sendBatch(many(2, text(127_798))); // 2 × (127,800 + 100)
    await assert.rejects(q.sendBatch(many(3, text(85_232))), { message: "Batch size out of bounds (10205)" });
    await assert.rejects(q.sendBatch([{ body: text(127_899) }]), { message: "Message size out of bounds (10204)" });
    await assert.rejects(q.sendBatch(many(1), { delaySeconds: 86_401 }), { message: "Invalid batch delay (10202)" });
    await assert.rejects(q.sendBatch([{ body: "x", delaySeconds: -5 }]), { message: "Invalid message metadata (10203)" });
    assert.equal(bridge.calls.length, 2);
  });

  test("a send is one of the invocation's 1,000 calls to Cloudflare services, with D1's", async () => {
    const bridge = { async call() { return { result: { results: [], meta: {} } }; } };
    const q = new WorkerQueue(bridge, "Q");
    const db = new D1Database(bridge, "DB");
    await runInvocation(async () => {
      for (let i = 0; i < LIMITS.d1QueriesPerInvocation - 1; i++) await db.prepare("SELECT 1").all();
      await q.send("last one");
      await assert.rejects(q.send("one too many"), /Too many API requests by single worker invocation/);
    });
  });
});

describe("a batch records ack() and retry() as workerd does", () => {
  const batchOf = (ids, warnings = []) => {
    const result = new BatchResult((line) => warnings.push(line));
    const messages = ids.map((id) => ({ id, timestamp: 0, attempts: 1, body: id }));
    return { result, batch: new QueueController("q", messages, { metrics: {} }, result), ids };
  };

  test("a normal return acks what was not retried; a failure retries what was not acked", () => {
    const { result, batch, ids } = batchOf(["a", "b", "c"]);
    const [a, b] = batch.messages;
    a.ack();
    b.retry({ delaySeconds: 30 });
    assert.deepEqual(result.decide(ids, false), [
      { id: "a", retry: false },
      { id: "b", retry: true, delaySeconds: 30 },
      { id: "c", retry: false },
    ]);
    const failed = batchOf(["a", "b", "c"]);
    failed.batch.messages[0].ack();
    assert.deepEqual(failed.result.decide(failed.ids, true).map((d) => d.retry), [false, true, true]);
  });

  test("the first call on a message wins, with workerd's warnings", () => {
    const warnings = [];
    const { result, batch, ids } = batchOf(["a", "b"], warnings);
    const [a, b] = batch.messages;
    a.ack();
    a.retry();
    b.retry();
    b.ack();
    assert.deepEqual(result.decide(ids, false).map((d) => d.retry), [false, true]);
    assert.deepEqual(warnings, [
      "Received a call to retry() on message a after ack() was already called. Calling retry() on a message after calling ack() has no effect.",
      "Received a call to ack() on message b after retry() was already called. Calling ack() on a message after calling retry() has no effect.",
    ]);
  });

  test("message calls before ackAll()/retryAll() take precedence; ackAll and retryAll exclude each other", () => {
    const warnings = [];
    const { result, batch, ids } = batchOf(["a", "b", "c"], warnings);
    const [a, b] = batch.messages;
    a.ack();
    b.retry({ delaySeconds: 5 });
    batch.retryAll({ delaySeconds: 60 });
    batch.ackAll();
    assert.deepEqual(result.decide(ids, false), [
      { id: "a", retry: false },
      { id: "b", retry: true, delaySeconds: 5 },
      { id: "c", retry: true, delaySeconds: 60 },
    ]);
    assert.match(warnings[0], /Received a call to ackAll\(\) after retryAll\(\) was already called/);
    const acked = batchOf(["a"], warnings);
    acked.batch.ackAll();
    acked.batch.messages[0].retry();
    acked.batch.retryAll();
    assert.deepEqual(acked.result.decide(acked.ids, false), [{ id: "a", retry: false }]);
    assert.match(warnings[1], /retry\(\) on message a after ackAll\(\)/);
    assert.match(warnings[2], /retryAll\(\) after ackAll\(\)/);
  });

  test("retry delays are 0 to 86,400 s; a settled batch refuses further calls", () => {
    const { result, batch, ids } = batchOf(["a"]);
    const [a] = batch.messages;
    assert.throws(() => a.retry({ delaySeconds: 86_401 }), RangeError);
    assert.throws(() => batch.retryAll({ delaySeconds: -1 }), RangeError);
    assert.throws(() => a.retry(3), /parameter 1 is not of type 'QueueRetryOptions'/);
    result.decide(ids, false);
    assert.throws(() => a.ack(), /Cannot perform I\/O on behalf of a different request/);
  });

  test("consumer settings a config leaves out take Cloudflare's defaults", () => {
    const { queueConsumers, queueProducers, deadLetterQueues } = bridgeQueueOptions(
      [{ name: "w", queueProducers: { Q: { queueName: "q", deliveryDelay: 9 } }, queueConsumers: { q: { deadLetterQueue: "q-dlq" } } }],
      () => {},
    );
    assert.deepEqual(queueConsumers.q, { maxBatchSize: 10, maxBatchTimeout: 5, maxRetries: 3, deadLetterQueue: "q-dlq", retryDelay: undefined });
    assert.deepEqual(queueProducers, { Q: { queueName: "q" } });
    assert.deepEqual(deadLetterQueues, ["q-dlq"]);
    assert.throws(
      () => bridgeQueueOptions([{ name: "a", queueConsumers: { q: {} } }, { name: "b", queueConsumers: { q: {} } }], () => {}),
      /queue q has two consumers/,
    );
  });
});

// Miniflare's real broker, the bridge Worker as consumer, consumers written in JS here.
describe("through Miniflare's broker and the bridge Worker", () => {
  const lines = [];
  const service = new QueueService((...args) => lines.push(args.join(" ")));
  const workers = [
    {
      name: "rs1-test",
      queueProducers: { WORK: { queueName: "work" }, TIMED: { queueName: "timed" } },
      queueConsumers: {
        work: { maxBatchSize: 4, maxBatchTimeout: 1, maxRetries: 2, deadLetterQueue: "work-dlq" },
        timed: { maxBatchSize: 100, maxBatchTimeout: 1, maxRetries: 0 },
      },
    },
  ];
  let mf;
  let bridge;
  let work;
  let timed;
  const deliveries = { work: [], timed: [] };
  let onWork = () => {};

  before(async () => {
    mf = new Miniflare(
      convertV4MiniflareOptions({
        workers: [
          {
            name: "rs1-local-bridge",
            modules: [
              { type: "ESModule", path: path.join(runtime, "bridge_worker.mjs") },
              { type: "ESModule", path: path.join(runtime, "wire.mjs") },
            ],
            modulesRoot: runtime,
            compatibilityDate: "2026-08-20",
            ...service.bridgeOptions(workers),
          },
        ],
      }),
    );
    bridge = new Bridge(await mf.ready);
    work = new WorkerQueue(bridge, "WORK");
    timed = new WorkerQueue(bridge, "TIMED");
    service.consume("work", "rs1-test", async (batch) => {
      deliveries.work.push({ at: Date.now(), messages: batch.messages.map((m) => ({ id: m.id, body: m.body, attempts: m.attempts })) });
      await onWork(batch);
    });
    service.consume("timed", "rs1-test", async (batch) => {
      deliveries.timed.push({ at: Date.now(), messages: batch.messages.map((m) => ({ body: m.body, attempts: m.attempts })) });
    });
  });

  after(async () => {
    await bridge?.close();
    await mf?.dispose();
  });

  async function until(check, what, ms = 10_000) {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  test("batches hold at most max_batch_size messages, in order", async () => {
    deliveries.work.length = 0;
    onWork = () => {};
    const sent = await work.sendBatch(Array.from({ length: 10 }, (_, i) => ({ body: { n: i } })));
    assert.equal(typeof sent.metadata.metrics.backlogCount, "number");
    await until(() => deliveries.work.flatMap((d) => d.messages).length === 10, "10 messages");
    assert.deepEqual(deliveries.work.map((d) => d.messages.length), [4, 4, 2]);
    assert.deepEqual(deliveries.work.flatMap((d) => d.messages.map((m) => m.body.n)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test("a batch that is not full waits max_batch_timeout", async () => {
    deliveries.timed.length = 0;
    const sentAt = Date.now();
    await timed.send("one");
    await timed.send("two");
    await until(() => deliveries.timed.length === 1, "the timed batch");
    const waited = deliveries.timed[0].at - sentAt;
    assert.ok(waited >= 900 && waited < 3000, `delivered after ${waited} ms`);
    assert.deepEqual(deliveries.timed[0].messages, [{ body: "one", attempts: 1 }, { body: "two", attempts: 1 }]);
  });

  test("retried messages come back with attempts + 1, and after max_retries go to the dead-letter queue", async () => {
    deliveries.work.length = 0;
    onWork = (batch) => {
      for (const m of batch.messages) if (m.body === "poison") m.retry();
    };
    await work.send("poison");
    await until(() => service.deadLetters("work-dlq").length === 1, "the dead letter");
    const attempts = deliveries.work.flatMap((d) => d.messages).map((m) => m.attempts);
    assert.deepEqual(attempts, [1, 2, 3]); // max_retries = 2: three deliveries
    const [dead] = service.deadLetters("work-dlq");
    assert.equal(dead.body, "poison");
    assert.equal(dead.id, deliveries.work[0].messages[0].id); // the same message, as on Cloudflare
    assert.ok(lines.some((l) => l.includes(`queue work-dlq holds dead letter ${dead.id}`)), lines.join("\n"));
  });

  test("explicitly acked messages survive a throwing handler; a retry delay is kept", async () => {
    deliveries.work.length = 0;
    onWork = (batch) => {
      const [first, second, third] = batch.messages;
      if (first.attempts > 1 || second === undefined) return;
      first.ack();
      third.retry({ delaySeconds: 2 });
      throw new Error("fails after acking the first");
    };
    const sentAt = Date.now();
    await work.sendBatch([{ body: "acked" }, { body: "retried" }, { body: "delayed" }]);
    await until(() => deliveries.work.flatMap((d) => d.messages).length === 5, "the redeliveries", 15_000);
    const [firstTry, ...redelivered] = deliveries.work;
    assert.deepEqual(firstTry.messages.map((m) => m.body), ["acked", "retried", "delayed"]);
    const again = redelivered.flatMap((d) => d.messages.map((m) => [m.body, m.attempts]));
    assert.deepEqual(again, [["retried", 2], ["delayed", 2]]);
    const delayed = redelivered.find((d) => d.messages.some((m) => m.body === "delayed"));
    assert.ok(delayed.at - sentAt >= 2000, `redelivered after ${delayed.at - sentAt} ms`);
  });

  test("bodies arrive as the type they were sent; oversized ones are refused with Cloudflare's text", async () => {
    deliveries.work.length = 0;
    onWork = () => {};
    await work.send(new Uint8Array([1, 2, 3]), { contentType: "bytes" });
    await work.send(new Map([["at", new Date(0)]]), { contentType: "v8" });
    await work.send({ nested: ["é", null, 1.5] });
    await until(() => deliveries.work.flatMap((d) => d.messages).length === 3, "three bodies");
    const bodies = deliveries.work.flatMap((d) => d.messages.map((m) => m.body));
    assert.deepEqual(bodies[0], new Uint8Array([1, 2, 3])); // as workerd's consumer sees "bytes"
    assert.deepEqual(bodies[1], new Map([["at", new Date(0)]]));
    assert.deepEqual(bodies[2], { nested: ["é", null, 1.5] });
    await assert.rejects(work.send(text(127_899)), { message: "Message size out of bounds (10204)" });
    const metrics = await work.metrics();
    assert.equal(metrics.backlogCount, 0);
  });
});

// The Python SDK's view of a batch on the host: the dispatcher, the SDK's WorkerEntrypoint and
// _BindingWrapper, on Pyodide, with a probe Worker.
describe("a Python queue handler on the host", () => {
  const probe = `
import asyncio
from workers import WorkerEntrypoint

seen = []


class Default(WorkerEntrypoint):
    async def queue(self, batch, env, ctx):
        messages = batch.messages
        first = messages[0]
        seen.append((batch.queue, len(messages), first.id, first.body, first.attempts,
                     type(first.timestamp).__name__, messages[1].body))
        mode = first.body
        if mode == "explicit":
            first.ack()
            messages[1].retry(delaySeconds=5)

            async def later():
                await asyncio.sleep(0.02)
                messages[2].ack()

            self.ctx.waitUntil(later())
        elif mode == "throw":
            messages[1].ack()
            raise ValueError("handler broke")
        elif mode == "background":

            async def broken():
                await asyncio.sleep(0.01)
                raise RuntimeError("waitUntil work broke")

            self.ctx.waitUntil(broken())
        elif mode == "retryAll":
            batch.retryAll(delaySeconds=7)
        elif mode == "ackAll":
            batch.ackAll()
            messages[1].retry()
        elif mode == "send":
            await self.env.OUT.send("plain text")
            await self.env.OUT.sendBatch([{"body": "a"}, {"body": "b", "delaySeconds": 3}])
            await self.env.OUT.send({"k": [1, None]}, contentType="json", delaySeconds=2)
`;
  let dir;
  let py;
  let service;
  const bridge = fakeBridge();
  const lines = [];

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "rs1-queue-probe-"));
    writeFileSync(path.join(dir, "queue_probe.py"), probe);
    // workerd calls queue(batch, env, ctx) strictly: a handler taking only the batch fails.
    writeFileSync(
      path.join(dir, "queue_probe_one_arg.py"),
      "from workers import WorkerEntrypoint\n\n\nclass Default(WorkerEntrypoint):\n" +
        "    async def queue(self, batch):\n        batch.ackAll()\n",
    );
    py = await loadPyodide({ indexURL: path.join(root, "node_modules/pyodide") + "/" });
    py.mountNodeFS("/rs1/probe", dir);
    py.mountNodeFS("/rs1/python_modules", path.join(root, "python_modules"));
    py.mountNodeFS("/rs1/shims", path.join(runtime, "python_shims"));
    py.runPython('import sys; sys.path[:0] = ["/rs1/shims", "/rs1/probe", "/rs1/python_modules"]');
    const dispatcher = py.pyimport("rs1_local_dispatch");
    dispatcher.load("queue_probe");
    dispatcher.load("queue_probe_one_arg");
    const env = { OUT: new WorkerQueue(bridge, "OUT") };
    service = new QueueService((...args) => lines.push(args.join(" ")));
    service.consume("probe-queue", "rs1-probe", (batch) =>
      runInvocation(() => dispatcher.queue("queue_probe", batch, env, { waitUntil() {}, props: {} })),
    );
    service.consume("probe-one-arg", "rs1-probe-one-arg", (batch) =>
      runInvocation(() =>
        dispatcher.queue("queue_probe_one_arg", batch, env, { waitUntil() {}, props: {} }),
      ),
    );
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  const deliver = (mode) =>
    service.deliver(
      "probe-queue",
      [mode, { k: "v" }, "third"].map((body, i) => ({ id: `m${i}`, timestamp: 1_700_000_000_000 + i, attempts: 2, body })),
      { metrics: { backlogCount: 0, backlogBytes: 0 } },
    );

  test("ack(), retry(delaySeconds=…) and work handed to ctx.waitUntil count, as on workerd", async () => {
    assert.deepEqual(await deliver("explicit"), [
      { id: "m0", retry: false },
      { id: "m1", retry: true, delaySeconds: 5 },
      { id: "m2", retry: false },
    ]);
    assert.deepEqual(await deliver("retryAll"), ["m0", "m1", "m2"].map((id) => ({ id, retry: true, delaySeconds: 7 })));
    assert.deepEqual((await deliver("ackAll")).map((d) => d.retry), [false, false, false]);
    assert.ok(lines.some((l) => l.includes("retry() on message m1 after ackAll()")), lines.join("\n"));
  });

  test("a handler that raises, or whose waitUntil work raises, has its batch retried except what it acked", async () => {
    assert.deepEqual((await deliver("throw")).map((d) => d.retry), [true, false, true]);
    assert.ok(lines.some((l) => l.includes("ValueError: handler broke")), lines.join("\n"));
    assert.deepEqual((await deliver("background")).map((d) => d.retry), [true, true, true]);
    assert.ok(lines.some((l) => l.includes("RuntimeError: waitUntil work broke")), lines.join("\n"));
  });

  test("the handler sees str/dict bodies, int attempts, datetime timestamps; send() takes a str", async () => {
    bridge.calls.length = 0;
    assert.deepEqual((await deliver("send")).map((d) => d.retry), [false, false, false]);
    assert.equal(
      py.runPython("import queue_probe; repr(queue_probe.seen[-1])"),
      "('probe-queue', 3, 'm0', 'send', 2, 'datetime', {'k': 'v'})",
    );
    assert.deepEqual(
      bridge.calls.map((c) => c.payload),
      [
        { op: "send", body: "plain text", contentType: undefined, delaySeconds: undefined },
        {
          op: "sendBatch",
          messages: [
            { body: "a", contentType: undefined, delaySeconds: undefined },
            { body: "b", contentType: undefined, delaySeconds: 3 },
          ],
          delaySeconds: undefined,
        },
        { op: "send", body: { k: [1, null] }, contentType: "json", delaySeconds: 2 },
      ],
    );
  });

  test("a queue(self, batch) handler fails as on workerd: it is called with (batch, env, ctx)", async () => {
    const settled = await service.deliver(
      "probe-one-arg",
      [{ id: "x0", timestamp: 1_700_000_000_000, attempts: 1, body: "b" }],
      { metrics: { backlogCount: 0, backlogBytes: 0 } },
    );
    assert.deepEqual(settled.map((d) => d.retry), [true]);
    assert.ok(lines.some((l) => l.includes("takes 2 positional arguments but 4 were given")), lines.join("\n"));
  });
});
