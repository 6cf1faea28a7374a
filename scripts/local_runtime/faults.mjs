// Fault injection for the local host only: rules that make the Workers' D1/KV/R2 calls, their
// fetch() to the EMQX API, or requests to chosen routes fail (or slow down) the way production
// fails. Nothing here reaches a deployed Worker: the Workers' code and wrangler configs know
// nothing of it; the host consults the controller where it hands out bindings (bindings.mjs,
// FaultyBridge), the Workers' global fetch (websockets.mjs workerGlobals) and its HTTP servers.
//
// A rule (JSON): {"target": "d1"|"kv"|"r2"|"emqx_api"|"route", "rate": 0..1 (probability per
// operation), "start_s": seconds after the rule is set (0), "duration_s": seconds or null
// (forever), "latency_ms": delay awaited before the operation (0), "binding": "DB" (only that
// binding), "worker": "rs1-telemetry" (only that Worker), "paths": ["/webhook/mqtt-auth"] (route:
// path prefixes; none = every path), "error": "503"|"reset" (route), "seed": 42 (reproducible)}.
// Switched by RS1_FAULTS (a JSON list, at start) and the control endpoint (controlServer).
import http from "node:http";
import { errorResponse } from "./edge.mjs";

export const TARGETS = ["d1", "kv", "r2", "emqx_api", "route"];
export const ROUTE_ERRORS = ["503", "reset"];
const FIELDS = new Set([
  "target", "rate", "start_s", "duration_s", "latency_ms", "binding", "worker", "paths", "error", "seed",
]);

export class FaultRuleError extends Error {}

function fail(index, message) {
  throw new FaultRuleError(`rule ${index}: ${message}`);
}

function number(value, index, name, { min = 0, max = Infinity, nullable = false } = {}) {
  if (value === null && nullable) return null;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `${min}..${max}`;
    fail(index, `${name} must be a number ${range}${nullable ? " or null" : ""}`);
  }
  return value;
}

function optionalString(value, index, name) {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || !value) fail(index, `${name} must be a non-empty string`);
  return value;
}

// A rule as given, checked and completed with its defaults (throws FaultRuleError).
export function normalizeRule(raw, index = 0) {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) fail(index, "must be an object");
  for (const key of Object.keys(raw)) if (!FIELDS.has(key)) fail(index, `unknown field ${key}`);
  if (!TARGETS.includes(raw.target)) fail(index, `target must be one of ${TARGETS.join(", ")}`);
  const rule = {
    target: raw.target,
    rate: number(raw.rate ?? 0, index, "rate", { max: 1 }),
    start_s: number(raw.start_s ?? 0, index, "start_s"),
    duration_s: number(raw.duration_s ?? null, index, "duration_s", { nullable: true }),
    latency_ms: number(raw.latency_ms ?? 0, index, "latency_ms"),
    binding: optionalString(raw.binding, index, "binding"),
    worker: optionalString(raw.worker, index, "worker"),
    paths: null,
    error: null,
    seed: raw.seed ?? null,
  };
  if (rule.seed !== null && !Number.isInteger(rule.seed)) fail(index, "seed must be an integer");
  if (raw.paths !== undefined && raw.paths !== null) {
    if (rule.target !== "route") fail(index, "paths are for target route");
    const ok = Array.isArray(raw.paths) && raw.paths.every((p) => typeof p === "string" && p.startsWith("/"));
    if (!ok) fail(index, 'paths must be a list of path prefixes starting with "/"');
    rule.paths = [...raw.paths];
  }
  if (rule.target === "route") {
    rule.error = String(raw.error ?? "503");
    if (!ROUTE_ERRORS.includes(rule.error)) fail(index, `error must be one of ${ROUTE_ERRORS.join(", ")}`);
  } else if (raw.error !== undefined && raw.error !== null) {
    fail(index, "error is for target route");
  }
  if (rule.binding !== null && !["d1", "kv", "r2"].includes(rule.target)) {
    fail(index, "binding is for targets d1, kv and r2");
  }
  return rule;
}

export function parseRules(value) {
  const list = typeof value === "string" ? JSON.parse(value) : value;
  const rules = Array.isArray(list) ? list : list && Array.isArray(list.rules) ? list.rules : null;
  if (!rules) throw new FaultRuleError("expected a JSON list of rules");
  return rules.map((r, i) => normalizeRule(r, i));
}

// mulberry32: a small seeded generator, so a seeded rule fails the same operations each run.
export function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultController {
  constructor({ now = () => Date.now(), log = () => {} } = {}) {
    this.now = now;
    this.log = log;
    this.active = []; // {rule, setAt, random, seen, injected}
  }

  // Replace every rule (start_s counts from now); returns the new state.
  set(rules, source = "control") {
    const checked = parseRules(rules);
    const setAt = this.now();
    this.active = checked.map((rule) => ({
      rule,
      setAt,
      random: rule.seed === null ? Math.random : seededRandom(rule.seed),
      seen: 0,
      injected: 0,
    }));
    this.log(`faults set (${source}): ${checked.length ? JSON.stringify(checked) : "none"}`);
    return this.state();
  }

  clear(source = "control") {
    this.active = [];
    this.log(`faults cleared (${source})`);
  }

  state() {
    const now = this.now();
    return this.active.map((e) => ({
      ...e.rule,
      set_at: new Date(e.setAt).toISOString(),
      active: this.inWindow(e, now),
      seen: e.seen,
      injected: e.injected,
    }));
  }

  inWindow({ rule, setAt }, now) {
    const elapsed = (now - setAt) / 1000;
    if (elapsed < rule.start_s) return false;
    return rule.duration_s === null || elapsed < rule.start_s + rule.duration_s;
  }

  // What to do to one operation: null (nothing; cheap when no rule is set), or {latencyMs,
  // rule} where rule is the rule whose fault to inject (null: only delay). Every rule that
  // matches, inside its window, counts the operation; their latencies add up.
  decide(target, { worker = null, binding = null, path = null } = {}) {
    if (this.active.length === 0) return null;
    const now = this.now();
    let latencyMs = 0;
    let failing = null;
    let matched = false;
    for (const e of this.active) {
      const { rule } = e;
      if (rule.target !== target) continue;
      if (rule.worker !== null && rule.worker !== worker) continue;
      if (rule.binding !== null && rule.binding !== binding) continue;
      if (rule.paths !== null && !(path !== null && rule.paths.some((p) => path.startsWith(p)))) continue;
      if (!this.inWindow(e, now)) continue;
      matched = true;
      e.seen++;
      latencyMs += rule.latency_ms;
      // rate 1 always, rate 0 never; in between, one draw of the rule's generator.
      const hit = rule.rate >= 1 || (rule.rate > 0 && e.random() < rule.rate);
      if (hit) {
        e.injected++;
        failing ??= rule;
      }
    }
    return matched ? { latencyMs, rule: failing } : null;
  }

  // decide(), then its latency awaited; returns the rule whose fault to inject, or null.
  async apply(target, context) {
    const d = this.decide(target, context);
    if (!d) return null;
    if (d.latencyMs > 0) await sleep(d.latencyMs);
    return d.rule;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// --- The errors production's bindings and runtime surface --------------------------------------

// D1: workerd's d1-api throws Error("D1_ERROR: <message>", {cause: Error(<message>)});
// "Network connection lost." is the retryable network error of D1's error list
// (developers.cloudflare.com/d1/observability/debug-d1, d1/best-practices/retry-queries).
export function d1Error() {
  const message = "Network connection lost.";
  return new Error(`D1_ERROR: ${message}`, { cause: new Error(message) });
}

// KV: workerd throws Error("KV <OP> failed: <status> <text>"), e.g. "KV PUT failed: 500 Internal
// Server Error" (workerd's kv-test.js; cloudflare/next-on-pages#257).
const KV_OPS = { get: "GET", put: "PUT", delete: "DELETE", list: "LIST" };
export function kvError(op) {
  return new Error(`KV ${KV_OPS[op] || String(op).toUpperCase()} failed: 500 Internal Server Error`);
}

// R2: "<op>: <message> (<code>)" (developers.cloudflare.com/r2/api/error-codes: "the error code
// is included at the end of the message property"); 10001 is R2's internal error.
export function r2Error(op) {
  const error = new Error(`${op}: We encountered an internal error. Please try again. (10001)`);
  error.name = "R2Error"; // workerd's class; `code` as its R2Error carries it
  error.code = 10001;
  return error;
}

// An unreachable origin, as fetch() reports it: TypeError "fetch failed" whose cause is the
// refused connection (Node's undici; the Python SDK sees a JsException either way).
export function fetchError(url) {
  let address = "127.0.0.1";
  let port = 80;
  try {
    const u = new URL(url);
    address = u.hostname;
    port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  } catch {}
  const cause = Object.assign(new Error(`connect ECONNREFUSED ${address}:${port}`), {
    code: "ECONNREFUSED",
    errno: -111,
    syscall: "connect",
    address,
    port,
  });
  return new TypeError("fetch failed", { cause });
}

// A route fault's 503: our error contract (JSON error, message, request_id) and Retry-After.
export function unavailableResponse(nodeHeaders) {
  const response = errorResponse(
    503,
    "service_unavailable",
    "The service is unavailable (injected fault); retry later.",
    nodeHeaders,
  );
  response.headers.set("retry-after", "1");
  return response;
}

// Hang up without an answer: an RST where Node can send one (the client sees a reset).
export function resetSocket(socket) {
  if (typeof socket.resetAndDestroy === "function" && socket.writable) socket.resetAndDestroy();
  else socket.destroy();
}

// The Workers' global fetch with the emqx_api target: a request to one of `origins` (the
// EMQX_API_URL var's origin) may be delayed or refused.
export function faultyFetch(faults, worker, origins, fetch) {
  return async (input, init) => {
    if (faults.active.length && origins.size) {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input?.url;
      let origin = null;
      try {
        origin = new URL(url).origin;
      } catch {}
      if (origin && origins.has(origin) && (await faults.apply("emqx_api", { worker }))) {
        throw fetchError(url);
      }
    }
    return fetch(input, init);
  };
}

// --- The control endpoint -----------------------------------------------------------------------

async function readJson(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const text = Buffer.concat(chunks).toString("utf8");
  return text ? JSON.parse(text) : [];
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

// GET /faults → {"rules": [...with counters]}, PUT /faults (a JSON list: replace), DELETE
// /faults (clear). Listens on 127.0.0.1 only, whatever RS1_HOST is.
export function controlServer(faults, port, log) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://control");
    try {
      if (url.pathname !== "/faults") return send(res, 404, { error: "not_found", message: "Try /faults." });
      if (req.method === "GET") return send(res, 200, { rules: faults.state() });
      if (req.method === "PUT") {
        let rules;
        try {
          rules = await readJson(req);
          return send(res, 200, { rules: faults.set(rules) });
        } catch (err) {
          if (err instanceof FaultRuleError || err instanceof SyntaxError) {
            return send(res, 400, { error: "bad_request", message: err.message });
          }
          throw err;
        }
      }
      if (req.method === "DELETE") {
        faults.clear();
        return send(res, 200, { rules: [] });
      }
      res.setHeader("allow", "GET, PUT, DELETE");
      return send(res, 405, { error: "method_not_allowed", message: `${req.method} is not allowed.` });
    } catch (err) {
      log("fault control failed:", err);
      return send(res, 500, { error: "internal_error", message: String(err) });
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}
