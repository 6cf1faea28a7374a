// Cloudflare's platform limits that our code can reach, enforced by the local host with the
// platform's own errors (sources: developers.cloudflare.com d1/platform/limits,
// workers/platform/limits, kv/platform/limits, queues/platform/limits and
// queues/reference/error-codes; Workers Paid plan).
import { AsyncLocalStorage } from "node:async_hooks";

export const LIMITS = {
  d1BoundParameters: 100, // per statement
  // D1: "Maximum string, BLOB or table row size: 2,000,000 bytes" (d1/platform/limits).
  d1ValueBytes: 2_000_000,
  d1StatementBytes: 100_000, // SQL text of one statement
  // Calls to Cloudflare's services (D1, a D1 batch being one; Queues send/sendBatch) per
  // request, cron, queue batch or object event ("up to 1,000 operations to external services").
  d1QueriesPerInvocation: 1_000,
  subrequestsPerInvocation: 10_000, // fetch() and Durable Object calls
  kvKeyBytes: 512,
  kvValueBytes: 25 * 1024 * 1024,
  kvWritesPerKeyPerSecond: 1, // exceeded: a warning (KV may answer 429 in production)
  requestBodyBytes: 100 * 1024 * 1024, // the edge refuses larger bodies with 413
  // Queues: "1 KB is measured as 1000 bytes. Messages can include up to ~100 bytes of internal
  // metadata that counts towards total message limits." The host counts those 100 bytes in both
  // limits, so it never takes a message or batch Cloudflare would refuse. (Miniflare checks the
  // bare body against 128,000 and a batch against 288,000: looser, so these come first.)
  queueMessageBytes: 128_000,
  queueBatchBytes: 256_000,
  queueMessageMetadataBytes: 100,
  queueBatchMessages: 100,
  queueDelaySeconds: 86_400, // "delaySeconds (when sending or retrying): 24 hours"
};

// One store per invocation: everything a request (or cron, or object event) does, including
// its waitUntil work, runs inside it, as workerd counts per invocation.
const invocation = new AsyncLocalStorage();

export function runInvocation(fn) {
  return invocation.run({ api: 0, subrequests: 0 }, fn);
}

// One call to a Cloudflare service (D1 query or batch, queue send or sendBatch).
export function countApiRequest() {
  const counts = invocation.getStore();
  if (counts && ++counts.api > LIMITS.d1QueriesPerInvocation) {
    throw new Error("Too many API requests by single worker invocation.");
  }
}

export const countD1Query = countApiRequest;

export function countSubrequest() {
  const counts = invocation.getStore();
  if (counts && ++counts.subrequests > LIMITS.subrequestsPerInvocation) {
    throw new Error("Too many subrequests.");
  }
}

// D1's limits on one statement, with D1's error text (SQLite compiled for D1).
export function checkStatement(sql, params) {
  const bytes = Buffer.byteLength(sql);
  if (bytes > LIMITS.d1StatementBytes) {
    throw new Error(`D1_ERROR: statement too long: SQLITE_TOOBIG`);
  }
  const numbered = [...sql.matchAll(/\?(\d+)/g)].map((m) => Number(m[1]));
  const variables = Math.max(params.length, ...numbered, 0);
  if (variables > LIMITS.d1BoundParameters) {
    const offset = nthPlaceholder(sql, LIMITS.d1BoundParameters + 1);
    throw new Error(`D1_ERROR: too many SQL variables at offset ${offset}: SQLITE_ERROR`);
  }
  for (const value of params) {
    const size = typeof value === "string" ? Buffer.byteLength(value) : Array.isArray(value) ? value.length : 0;
    // SQLite's SQLITE_TOOBIG ("string or blob too big"), as D1 reports a value over its limit.
    if (size > LIMITS.d1ValueBytes) throw new Error("D1_ERROR: string or blob too big: SQLITE_TOOBIG");
  }
}

function nthPlaceholder(sql, n) {
  let seen = 0;
  for (let i = 0; i < sql.length; i++) if (sql[i] === "?" && ++seen === n) return i;
  return sql.length;
}

// KV's per-key and per-value limits, with KV's error text; writes to one key faster than once
// a second are logged as a warning the tests can read in the host log.
const lastWrite = new Map();
export function checkKvPut(key, size, log) {
  const keyBytes = Buffer.byteLength(key);
  if (keyBytes > LIMITS.kvKeyBytes) {
    throw new Error(
      `KV PUT failed: 414 UTF-8 encoded length of ${keyBytes} exceeds key length limit of ${LIMITS.kvKeyBytes}.`,
    );
  }
  if (size > LIMITS.kvValueBytes) {
    throw new Error(`KV PUT failed: 413 Value length of ${size} exceeds limit of ${LIMITS.kvValueBytes}.`);
  }
  const now = Date.now();
  const last = lastWrite.get(key);
  if (last !== undefined && now - last < 1000 / LIMITS.kvWritesPerKeyPerSecond) {
    log?.(`kv_write_rate_exceeded key=${key} interval_ms=${now - last}`);
  }
  lastWrite.set(key, now);
  if (lastWrite.size > 100_000) lastWrite.clear();
}

// The Queues service's refusals, as the binding throws them on workerd with
// queue_expose_error_codes (on since 2026-03-12): "<cause> (<code>)", codes and causes from
// queues/reference/error-codes.
export class QueueError extends Error {}
const queueError = (code, cause) => new QueueError(`${cause} (${code})`);

function checkDelay(delaySeconds, code, cause) {
  if (delaySeconds !== undefined && (delaySeconds < 0 || delaySeconds > LIMITS.queueDelaySeconds)) {
    throw queueError(code, cause);
  }
}

// One send(): `bytes` is the serialized body's size, `delaySeconds` already an integer.
export function checkQueueSend(bytes, delaySeconds) {
  checkDelay(delaySeconds, 10203, "Invalid message metadata");
  if (bytes + LIMITS.queueMessageMetadataBytes > LIMITS.queueMessageBytes) {
    throw queueError(10204, "Message size out of bounds");
  }
}

// One sendBatch(): messages as [{bytes, delaySeconds}], and the batch's own delay.
export function checkQueueBatch(messages, delaySeconds) {
  checkDelay(delaySeconds, 10202, "Invalid batch delay");
  if (messages.length > LIMITS.queueBatchMessages) {
    throw queueError(10206, "Batch count out of bounds");
  }
  let total = 0;
  for (const m of messages) {
    checkDelay(m.delaySeconds, 10203, "Invalid message metadata");
    const bytes = m.bytes + LIMITS.queueMessageMetadataBytes;
    if (bytes > LIMITS.queueMessageBytes) throw queueError(10204, "Message size out of bounds");
    total += bytes;
  }
  if (total > LIMITS.queueBatchBytes) throw queueError(10205, "Batch size out of bounds");
}

// retry()/retryAll() delays: the documented maximum applies to retries too; workerd takes any
// int and what the Queues service then does is not documented, so the host refuses it outright.
export function checkRetryDelay(delaySeconds) {
  if (delaySeconds !== undefined && (delaySeconds < 0 || delaySeconds > LIMITS.queueDelaySeconds)) {
    throw new RangeError(
      `delaySeconds ${delaySeconds} is out of range: Cloudflare Queues delays messages by 0 to ${LIMITS.queueDelaySeconds} seconds.`,
    );
  }
}
