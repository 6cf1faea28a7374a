// Binding objects handed to the Python Workers. Class names match workerd's (D1Database,
// KvNamespace, R2Bucket, WorkerQueue, ...) because the Python SDK recognises bindings by
// constructor name. Queue producers live in queues.mjs.
// Every call is one asynchronous HTTP request to the bridge Worker inside Miniflare, over a
// keep-alive undici pool straight to workerd's socket (Miniflare's dispatchFetch costs ~1.5 ms
// of Node CPU per call; the pool a fraction of that).
import { Readable } from "node:stream";
import { Pool } from "undici";
import { decode, encode } from "./wire.mjs";
import { d1Error, kvError, r2Error } from "./faults.mjs";
import { checkKvPut, checkStatement, countD1Query } from "./limits.mjs";
import { WorkerQueue } from "./queues.mjs";

class Bridge {
  constructor(url) {
    this.pool = new Pool(url, { connections: 64, pipelining: 1 });
  }

  async fetch(path, headers, body) {
    const res = await this.pool.request({ path, method: "POST", headers, body });
    return new Response(res.statusCode === 204 ? null : Readable.toWeb(res.body), {
      status: res.statusCode,
      headers: Object.entries(res.headers).flatMap(([k, v]) =>
        Array.isArray(v) ? v.map((x) => [k, x]) : [[k, String(v)]],
      ),
    });
  }

  async call(kind, binding, payload) {
    const res = await this.pool.request({
      path: `/${kind}/${binding}`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(encode(payload)),
    });
    const body = decode(await res.body.json());
    if (res.statusCode !== 200) throw new Error(body.error);
    return body;
  }

  close() {
    return this.pool.close();
  }
}

// One Worker's view of the bridge with the fault controller (faults.mjs) in front: every
// D1/KV/R2 call of that Worker (its requests, crons, queue batches and Durable Objects, which
// all use its env) is delayed or failed here, the way the real binding fails. Queue sends
// pass as they are.
export class FaultyBridge {
  constructor(bridge, faults, worker) {
    this.bridge = bridge;
    this.faults = faults;
    this.worker = worker;
  }

  async call(kind, binding, payload) {
    if (this.faults.active.length && (kind === "d1" || kind === "kv")) {
      if (await this.faults.apply(kind, { worker: this.worker, binding })) {
        throw kind === "d1" ? d1Error() : kvError(payload.op);
      }
    }
    return this.bridge.call(kind, binding, payload);
  }

  async fetch(path, headers, body) {
    if (this.faults.active.length) {
      const binding = path.split("/")[2]; // /r2/<binding>
      if (await this.faults.apply("r2", { worker: this.worker, binding })) {
        throw r2Error(headers["x-r2-op"]);
      }
    }
    return this.bridge.fetch(path, headers, body);
  }
}

// What D1's bind() takes, as workerd's d1-api.ts checks it (synchronously, in bind()):
// numbers, strings and null as they are; booleans as 1/0; byte arrays, ArrayBuffers and
// views as arrays of bytes. Anything else — BigInt (Pyodide's form of a Python int beyond
// 2**53), undefined, other objects — throws D1's own error.
export function d1Value(value) {
  const type = typeof value;
  if (type === "number" || type === "string" || value === null) return value;
  if (type === "boolean") return value ? 1 : 0;
  if (value instanceof ArrayBuffer) return Array.from(new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return Array.from(value);
  if (Array.isArray(value) && value.every((b) => typeof b === "number" && b >= 0 && b < 256)) {
    return value;
  }
  const message = `Type '${type}' not supported for value '${String(value)}'`;
  throw new Error(`D1_TYPE_ERROR: ${message}`, { cause: new Error(message) });
}

export class D1PreparedStatement {
  constructor(db, sql, params) {
    this.db = db;
    this.sql = sql;
    this.params = params;
  }
  bind(...params) {
    return new D1PreparedStatement(this.db, this.sql, params.map(d1Value));
  }
  wire() {
    return { sql: this.sql, params: this.params };
  }
  run() {
    return this.db.send("run", [this]);
  }
  all() {
    return this.db.send("all", [this]);
  }
  first(column) {
    return this.db.send("first", [this], column ?? null);
  }
  raw(options) {
    return this.db.send("raw", [this], Boolean(options && options.columnNames));
  }
}

export class D1Database {
  constructor(bridge, binding) {
    this.bridge = bridge;
    this.binding = binding;
  }
  prepare(sql) {
    return new D1PreparedStatement(this, sql, []);
  }
  batch(statements) {
    return this.send("batch", statements);
  }
  exec(sql) {
    return this.send("exec", [this.prepare(sql)]);
  }
  withSession() {
    return this;
  }
  async send(mode, statements, column = null) {
    const stmts = Array.from(statements, (s) => s.wire());
    countD1Query();
    for (const s of stmts) checkStatement(s.sql, s.params);
    return this.bridge.call("d1", this.binding, { mode, stmts, column });
  }
}

async function toBytes(value) {
  if (value === null || value === undefined) return new Uint8Array();
  if (typeof value === "string") return new TextEncoder().encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return new Uint8Array(await new Response(value).arrayBuffer());
}

export class KvNamespace {
  constructor(bridge, binding) {
    this.bridge = bridge;
    this.binding = binding;
  }
  async getWithMetadata(key, options) {
    const type = (typeof options === "string" ? options : options && options.type) || "text";
    const got = await this.bridge.call("kv", this.binding, { op: "get", key });
    if (got.value === null) return { value: null, metadata: null, cacheStatus: null };
    const bytes = got.value;
    let value = bytes;
    if (type === "text") value = new TextDecoder().decode(bytes);
    else if (type === "json") value = JSON.parse(new TextDecoder().decode(bytes));
    else if (type === "arrayBuffer") value = bytes.slice().buffer;
    else if (type === "stream") value = new Response(bytes).body;
    return { value, metadata: got.metadata ?? null, cacheStatus: null };
  }
  async get(key, options) {
    return (await this.getWithMetadata(key, options)).value;
  }
  async put(key, value, options) {
    const opts = { ...(options || {}) };
    const body = typeof value === "string" ? value : await toBytes(value);
    const size = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
    checkKvPut(String(key), size, (line) => console.log(`[rs1-local] warning ${line}`));
    await this.bridge.call("kv", this.binding, { op: "put", key, value: body, options: opts });
  }
  delete(key) {
    return this.bridge.call("kv", this.binding, { op: "delete", key });
  }
  list(options) {
    return this.bridge.call("kv", this.binding, { op: "list", options: options || {} });
  }
}

function headersToObject(headers) {
  if (!headers) return undefined;
  if (typeof headers.get !== "function") return headers;
  const pick = {
    contentType: "content-type",
    contentLanguage: "content-language",
    contentDisposition: "content-disposition",
    contentEncoding: "content-encoding",
    cacheControl: "cache-control",
  };
  const out = {};
  for (const [field, name] of Object.entries(pick)) {
    const v = headers.get(name);
    if (v !== null) out[field] = v;
  }
  return out;
}

// A Range given as Headers (as workerd allows) becomes {offset, length} or {suffix}.
function rangeToObject(range) {
  if (!range || typeof range.get !== "function") return range;
  const m = /^bytes=(\d*)-(\d*)$/.exec(range.get("range") || "");
  if (!m) return undefined;
  if (m[1] === "") return { suffix: Number(m[2]) };
  const offset = Number(m[1]);
  return m[2] === "" ? { offset } : { offset, length: Number(m[2]) - offset + 1 };
}

export class R2Object {
  constructor(meta) {
    Object.assign(this, meta);
    this.uploaded = new Date(meta.uploaded);
  }
  writeHttpMetadata(headers) {
    const names = {
      contentType: "content-type",
      contentLanguage: "content-language",
      contentDisposition: "content-disposition",
      contentEncoding: "content-encoding",
      cacheControl: "cache-control",
    };
    for (const [field, name] of Object.entries(names)) {
      if (this.httpMetadata[field]) headers.set(name, this.httpMetadata[field]);
    }
  }
}

export class R2ObjectBody extends R2Object {
  constructor(meta, response) {
    super(meta);
    this.response = response;
    this.body = response.body;
  }
  get bodyUsed() {
    return this.response.bodyUsed;
  }
  arrayBuffer() {
    return this.response.arrayBuffer();
  }
  async bytes() {
    return new Uint8Array(await this.response.arrayBuffer());
  }
  text() {
    return this.response.text();
  }
  json() {
    return this.response.json();
  }
  blob() {
    return this.response.blob();
  }
}

export class R2Bucket {
  constructor(bridge, binding) {
    this.bridge = bridge;
    this.binding = binding;
  }
  async request(op, key, options, body) {
    return this.bridge.fetch(
      `/r2/${this.binding}`,
      {
        "x-r2-op": op,
        "x-r2-key": encodeURIComponent(key ?? ""),
        "x-r2-options": JSON.stringify(options || {}),
      },
      body,
    );
  }
  async json(res) {
    const body = await res.json();
    if (res.status !== 200 && res.status !== 404) throw new Error(body.error);
    return body;
  }
  async head(key) {
    const meta = await this.json(await this.request("head", key));
    return meta && new R2Object(meta);
  }
  async get(key, options) {
    const opts = { ...(options || {}) };
    if (opts.range) opts.range = rangeToObject(opts.range);
    const res = await this.request("get", key, opts);
    if (res.status === 404) {
      await res.body?.cancel();
      return null;
    }
    if (res.status === 500) throw new Error((await res.json()).error);
    const meta = JSON.parse(res.headers.get("x-r2-object"));
    if (res.status === 412) return new R2Object(meta);
    return new R2ObjectBody(meta, res);
  }
  async put(key, value, options) {
    const opts = { ...(options || {}) };
    if (opts.httpMetadata) opts.httpMetadata = headersToObject(opts.httpMetadata);
    const meta = await this.json(await this.request("put", key, opts, await toBytes(value)));
    return meta && new R2Object(meta);
  }
  async delete(keys) {
    await this.json(await this.request("delete", JSON.stringify(keys)));
  }
  async list(options) {
    const listed = await this.json(await this.request("list", "", options));
    return { ...listed, objects: listed.objects.map((m) => new R2Object(m)) };
  }
}

export function makeBinding(bridge, kind, binding) {
  const cls = { d1: D1Database, kv: KvNamespace, r2: R2Bucket, queue: WorkerQueue }[kind];
  return new cls(bridge, binding);
}

export { Bridge };
