// Runs INSIDE Miniflare's workerd: serves Miniflare's real D1/KV/R2 bindings and queue
// producers to the Node host over asynchronous fetches (one round trip per query or batch),
// instead of the synchronous cross-process proxy calls of getPlatformProxy that block Node's
// event loop. It is also the consumer of the Python Workers' queues: Miniflare's broker hands it
// each batch, which it passes to the Node host (service binding HOST_SERVICE) and settles with
// the host's per-message decisions (queues.mjs).

import { decode, encode, fromWire, HOST_SERVICE, toWire } from "./wire.mjs";

const json = (body, status = 200) =>
  new Response(JSON.stringify(encode(body)), {
    status,
    headers: { "content-type": "application/json" },
  });

async function d1(db, req) {
  const { stmts, mode, column } = decode(await req.json());
  const prepared = stmts.map(({ sql, params }) =>
    params.length ? db.prepare(sql).bind(...params) : db.prepare(sql),
  );
  if (mode === "batch") return json(await db.batch(prepared));
  if (mode === "exec") return json(await db.exec(stmts[0].sql));
  const stmt = prepared[0];
  if (mode === "first") return json(await stmt.first(column ?? undefined));
  if (mode === "raw") return json(await stmt.raw({ columnNames: Boolean(column) }));
  return json(await stmt[mode]());
}

async function kv(ns, req) {
  const { op, key, value, options } = decode(await req.json());
  switch (op) {
    case "get":
      return json(await ns.getWithMetadata(key, { type: "arrayBuffer", ...(options || {}) }));
    case "put":
      await ns.put(key, value, options || {});
      return json(null);
    case "delete":
      await ns.delete(key);
      return json(null);
    case "list":
      return json(await ns.list(options || {}));
    default:
      return json({ error: `unknown kv op ${op}` }, 400);
  }
}

function describe(obj) {
  if (!obj) return null;
  return {
    key: obj.key,
    version: obj.version,
    size: obj.size,
    etag: obj.etag,
    httpEtag: obj.httpEtag,
    uploaded: obj.uploaded.toISOString(),
    httpMetadata: obj.httpMetadata || {},
    customMetadata: obj.customMetadata || {},
    range: obj.range,
    checksums: obj.checksums ? obj.checksums.toJSON() : {},
  };
}

async function r2(bucket, req) {
  const op = req.headers.get("x-r2-op");
  const key = decodeURIComponent(req.headers.get("x-r2-key") || "");
  const options = JSON.parse(req.headers.get("x-r2-options") || "{}");
  switch (op) {
    case "put": {
      const obj = await bucket.put(key, await req.arrayBuffer(), options);
      return json(describe(obj));
    }
    case "head":
      return json(describe(await bucket.head(key)));
    case "get": {
      const obj = await bucket.get(key, options);
      if (!obj) return json(null, 404);
      const headers = { "x-r2-object": JSON.stringify(describe(obj)) };
      // A failed onlyIf precondition returns metadata without a body.
      return new Response(obj.body ?? null, { status: obj.body ? 200 : 412, headers });
    }
    case "delete":
      await bucket.delete(JSON.parse(key));
      return json(null);
    case "list": {
      const listed = await bucket.list(options);
      return json({ ...listed, objects: listed.objects.map(describe) });
    }
    default:
      return json({ error: `unknown r2 op ${op}` }, 400);
  }
}

// A producer call, checked and sized by the host already (queues.mjs WorkerQueue); the real
// binding serializes the body again, to the same bytes, and Miniflare's broker enqueues it.
async function queueProducer(queue, req) {
  const { op, body, contentType, delaySeconds, messages } = decode(await req.json());
  let result;
  if (op === "send") {
    result = await queue.send(fromWire(body), { contentType, delaySeconds });
  } else if (op === "sendBatch") {
    const batch = messages.map((m) => ({ ...m, body: fromWire(m.body) }));
    result = await queue.sendBatch(batch, { delaySeconds });
  } else if (op === "metrics") {
    result = await queue.metrics();
  } else {
    return json({ error: `unknown queue op ${op}` }, 400);
  }
  return json({ result: toWire(result) });
}

export default {
  // Every batch goes to the host, which runs the consuming Worker's handler and answers one
  // decision per message. Only per-message ack()/retry() are used here: Miniflare's broker
  // ignores explicit acks after retryAll() or a throwing handler, Cloudflare honours them.
  async queue(batch, env) {
    const { backlogCount, backlogBytes, oldestMessageTimestamp } = batch.metadata?.metrics || {};
    const payload = {
      queue: batch.queue,
      metadata: { metrics: { backlogCount, backlogBytes, oldestMessageTimestamp: oldestMessageTimestamp?.getTime() } },
      messages: batch.messages.map((m) => ({
        id: m.id,
        timestamp: m.timestamp.getTime(),
        attempts: m.attempts,
        // A "bytes" message reaches a consumer on Cloudflare as a Uint8Array (queue.c++
        // deserialize), through Miniflare's broker as an ArrayBuffer.
        body: m.body instanceof ArrayBuffer ? new Uint8Array(m.body) : m.body,
      })),
    };
    const res = await env[HOST_SERVICE].fetch("http://rs1-local-host/queue", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(toWire(payload)),
    });
    if (!res.ok) throw new Error(`the local host refused the batch: ${res.status} ${await res.text()}`);
    const { decisions } = await res.json();
    const byId = new Map(batch.messages.map((m) => [m.id, m]));
    for (const { id, retry, delaySeconds } of decisions) {
      const message = byId.get(id);
      if (!retry) message.ack();
      else message.retry(delaySeconds === undefined || delaySeconds === null ? undefined : { delaySeconds });
    }
  },

  async fetch(req, env) {
    const [, kind, binding] = new URL(req.url).pathname.split("/");
    const target = env[binding];
    if (!target) return json({ error: `no binding ${binding}` }, 404);
    try {
      if (kind === "d1") return await d1(target, req);
      if (kind === "kv") return await kv(target, req);
      if (kind === "r2") return await r2(target, req);
      if (kind === "queue") return await queueProducer(target, req);
      return json({ error: `unknown kind ${kind}` }, 404);
    } catch (err) {
      return json({ error: String(err && err.message ? err.message : err) }, 500);
    }
  },
};
