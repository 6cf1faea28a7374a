// Cloudflare's platform limits that our code can reach, enforced by the local host with the
// platform's own errors (sources: developers.cloudflare.com d1/platform/limits,
// workers/platform/limits, kv/platform/limits; Workers Paid plan).
import { AsyncLocalStorage } from "node:async_hooks";

export const LIMITS = {
  d1BoundParameters: 100, // per statement
  d1StatementBytes: 100_000, // SQL text of one statement
  d1QueriesPerInvocation: 1_000, // D1 calls (a batch is one) per request, cron or object event
  subrequestsPerInvocation: 10_000, // fetch() and Durable Object calls
  kvKeyBytes: 512,
  kvValueBytes: 25 * 1024 * 1024,
  kvWritesPerKeyPerSecond: 1, // exceeded: a warning (KV may answer 429 in production)
  requestBodyBytes: 100 * 1024 * 1024, // the edge refuses larger bodies with 413
};

// One store per invocation: everything a request (or cron, or object event) does, including
// its waitUntil work, runs inside it, as workerd counts per invocation.
const invocation = new AsyncLocalStorage();

export function runInvocation(fn) {
  return invocation.run({ d1: 0, subrequests: 0 }, fn);
}

export function countD1Query() {
  const counts = invocation.getStore();
  if (counts && ++counts.d1 > LIMITS.d1QueriesPerInvocation) {
    throw new Error("Too many API requests by single worker invocation.");
  }
}

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
