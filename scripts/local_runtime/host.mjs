// Local runtime for RS-1 Cloud's Python Workers, for machines without internet.
//
// workerd cannot run Python Workers offline (it downloads its Pyodide bundle at startup), so
// this host runs the Workers' real Python code on Pyodide (npm) and gives them Miniflare's real
// local D1/KV/R2 through a bridge Worker. One Node process serves all three Workers on their
// own ports over one persisted state directory, like production's shared D1. Each Worker runs
// in RS1_ISOLATES Pyodide instances (default 2) taking requests round-robin: as in
// production, requests to one Worker do not share module state. Durable Objects and
// WebSockets are emulated in process (durable_objects.mjs, websockets.mjs). Queues are
// Miniflare's: the bridge Worker produces to them and consumes them for the Python Workers,
// whose queue handlers run here (queues.mjs). Faults (failing D1/KV/R2 calls, the EMQX API,
// chosen routes) can be injected for resilience tests (faults.mjs): RS1_FAULTS at start, and
// GET/PUT/DELETE http://127.0.0.1:$RS1_CONTROL_PORT/faults while it runs. Local only.
//
// Usage: node scripts/local_runtime/host.mjs   (env: RS1_HOST, RS1_STATE_DIR, RS1_ISOLATES,
//        RS1_DEVICE_API_PORT=8787, RS1_OTA_PORT=8788, RS1_TELEMETRY_PORT=8789,
//        RS1_FAULTS='[{"target": "d1", "rate": 0.1}]', RS1_CONTROL_PORT)
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";
import { loadPyodide } from "pyodide";
import { unstable_getMiniflareWorkerOptions, unstable_readConfig } from "wrangler";
import { Bridge, FaultyBridge, makeBinding } from "./bindings.mjs";
import { DurableObjects } from "./durable_objects.mjs";
import { endToEnd, errorResponse, refuseUnparsed } from "./edge.mjs";
import {
  FaultController,
  controlServer,
  faultyFetch,
  parseRules,
  resetSocket,
  unavailableResponse,
} from "./faults.mjs";
import { LIMITS, runInvocation } from "./limits.mjs";
import { QueueJournal } from "./queue_journal.mjs";
import { QueueService, useJournal } from "./queues.mjs";
import { answerUpgrade, workerGlobals } from "./websockets.mjs";

// workerd runs in UTC: Dates, and the Python SDK's datetimes made from them (a queue message's
// timestamp), read the same here whatever the machine's zone.
process.env.TZ = "UTC";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "../..");
const host = process.env.RS1_HOST || "127.0.0.1";
const stateDir = path.resolve(root, process.env.RS1_STATE_DIR || ".state");
const ISOLATES = Math.max(1, Math.floor(Number(process.env.RS1_ISOLATES)) || 2);

const WORKERS = [
  { config: "wrangler.toml", port: Number(process.env.RS1_DEVICE_API_PORT || 8787) },
  { config: "wrangler.ota.toml", port: Number(process.env.RS1_OTA_PORT || 8788) },
  { config: "wrangler.telemetry.toml", port: Number(process.env.RS1_TELEMETRY_PORT || 8789) },
];

const log = (...args) => console.log(`[rs1-local ${new Date().toISOString()}]`, ...args);

// The one fault controller of this host (faults.mjs): no rule, no fault.
const faults = new FaultController({ log });

function describeWorker({ config, port }) {
  const configPath = path.join(root, config);
  const { name } = unstable_readConfig({ config: configPath });
  const { workerOptions, main } = unstable_getMiniflareWorkerOptions(configPath);
  const module = path.basename(main, ".py");
  return {
    name,
    port,
    module,
    vars: workerOptions.bindings || {},
    d1: workerOptions.d1Databases || {},
    kv: workerOptions.kvNamespaces || {},
    r2: workerOptions.r2Buckets || {},
    durableObjects: workerOptions.durableObjects || {}, // name -> {className, scriptName?}
    queueProducers: workerOptions.queueProducers || {}, // binding -> {queueName}
    queueConsumers: workerOptions.queueConsumers || {}, // queue -> {maxBatchSize, ...}
  };
}

// Bindings of all Workers, merged: the bridge Worker serves each under its binding name.
// Two Workers that bind the same name must mean the same resource (they do: DB).
function mergeBindings(workers) {
  const merged = { d1Databases: {}, kvNamespaces: {}, r2Buckets: {} };
  for (const w of workers) {
    Object.assign(merged.d1Databases, w.d1);
    Object.assign(merged.kvNamespaces, w.kv);
    Object.assign(merged.r2Buckets, w.r2);
  }
  return merged;
}

async function startMiniflare(workers, queues) {
  // Miniflare 5 takes its own option shape; wrangler builds v4-shaped options and converts.
  const options = convertV4MiniflareOptions({
    workers: [
      {
        name: "rs1-local-bridge",
        modules: [
          { type: "ESModule", path: path.join(here, "bridge_worker.mjs") },
          { type: "ESModule", path: path.join(here, "wire.mjs") },
        ],
        modulesRoot: here,
        compatibilityDate: "2026-08-20",
        ...mergeBindings(workers),
        ...queues.bridgeOptions(workers),
      },
    ],
    resourcePersistencePath: path.join(stateDir, "v3"),
  });
  const mf = new Miniflare(options);
  await mf.ready;
  return mf;
}

// The origins of a Worker's EMQX API (the EMQX_API_URL var), whose fetches emqx_api faults fail.
function emqxOrigins(worker) {
  const url = { ...worker.vars, ...localVars() }.EMQX_API_URL;
  try {
    return new Set(url ? [new URL(url).origin] : []);
  } catch {
    return new Set();
  }
}

async function startPyodide(worker) {
  const fetch = faultyFetch(faults, worker.name, emqxOrigins(worker), (...a) => globalThis.fetch(...a));
  const py = await loadPyodide({
    indexURL: path.join(root, "node_modules/pyodide") + "/",
    // `from js import WebSocketPair`, a Response that takes 101, fetch with its faults
    jsglobals: workerGlobals({ fetch }),
  });
  py.mountNodeFS("/rs1/workers", path.join(root, "workers"));
  py.mountNodeFS("/rs1/python_modules", path.join(root, "python_modules"));
  py.mountNodeFS("/rs1/shims", path.join(here, "python_shims"));
  py.runPython(
    'import sys; sys.path[:0] = ["/rs1/shims", "/rs1/workers", "/rs1/python_modules"]',
  );
  const dispatcher = py.pyimport("rs1_local_dispatch");
  return { py, dispatcher };
}

// Local wiring the config cannot know: where rs1-ota listens, plus RS1_VAR_<NAME>=value
// overrides from the environment (the test fixture points EMQX_API_URL at its broker).
function localVars() {
  const ota = WORKERS.find((w) => w.config === "wrangler.ota.toml");
  const vars = { OTA_BASE_URL: `http://${host}:${ota.port}` };
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith("RS1_VAR_")) vars[name.slice("RS1_VAR_".length)] = value;
  }
  return vars;
}

function makeEnv(worker, sharedBridge, objects, dispatcher) {
  // vars, plus secrets from .dev.vars (wrangler reads them into the same bindings).
  const env = { ...worker.vars, ...localVars() };
  // This Worker's D1/KV/R2 calls pass the fault controller (its DOs and queue batches use env).
  const bridge = new FaultyBridge(sharedBridge, faults, worker.name);
  for (const name of Object.keys(worker.d1)) env[name] = makeBinding(bridge, "d1", name);
  for (const name of Object.keys(worker.kv)) env[name] = makeBinding(bridge, "kv", name);
  for (const name of Object.keys(worker.r2)) env[name] = makeBinding(bridge, "r2", name);
  for (const name of Object.keys(worker.queueProducers)) env[name] = makeBinding(bridge, "queue", name);
  for (const [name, { className, scriptName }] of Object.entries(worker.durableObjects)) {
    env[name] = objects.namespace(scriptName || worker.name, className);
    // A class this Worker defines runs with this Worker's env (script_name bindings reuse it).
    if (!scriptName) objects.define(worker.name, className, worker.module, env, dispatcher);
  }
  return env;
}

// The ExecutionContext: waitUntil promises are awaited after the response is sent.
function makeCtx() {
  const pending = [];
  return {
    pending,
    props: {},
    waitUntil(p) {
      pending.push(Promise.resolve(p).catch((e) => log("waitUntil failed:", e)));
    },
    passThroughOnException() {},
  };
}

// Until every waitUntil promise has settled, including those added while waiting (each one
// logs its own failure, so this never rejects).
async function settle(ctx) {
  for (let done = 0; done < ctx.pending.length; ) {
    const batch = ctx.pending.slice(done);
    done += batch.length;
    await Promise.all(batch);
  }
}

const EDGE_REFUSED_METHODS = new Set(["TRACE", "TRACK", "CONNECT"]);

class TooLarge extends Error {}

// The edge refuses bodies over the platform's limit before a Worker runs.
async function readBody(req) {
  const declared = Number(req.headers["content-length"] || 0);
  if (declared > LIMITS.requestBodyBytes) throw new TooLarge();
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > LIMITS.requestBodyBytes) throw new TooLarge();
    chunks.push(c);
  }
  return Buffer.concat(chunks);
}

async function toWebRequest(req, worker) {
  const url = `http://${req.headers.host || `${host}:${worker.port}`}${req.url}`;
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  }
  // As on Cloudflare, the client's address arrives as CF-Connecting-IP.
  headers.set("cf-connecting-ip", req.socket.remoteAddress || "127.0.0.1");
  const hasBody = !["GET", "HEAD"].includes(req.method);
  const body = hasBody ? await readBody(req) : undefined;
  return new Request(url, { method: req.method, headers, body });
}

async function writeResponse(res, response) {
  const headers = endToEnd(response.headers);
  // workerd sends Content-Length for fixed-size bodies; streamed bodies set it themselves.
  if (response.body && !("content-length" in headers)) {
    const buf = Buffer.from(await response.arrayBuffer());
    headers["content-length"] = String(buf.length);
    res.writeHead(response.status, headers);
    res.end(buf);
    return;
  }
  res.writeHead(response.status, headers);
  if (response.body) {
    for await (const chunk of response.body) res.write(chunk);
  }
  res.end();
}

async function runScheduled(worker, dispatcher, env, url) {
  const cron = url.searchParams.get("cron") || "";
  const time = Number(url.searchParams.get("time") || Date.now());
  const controller = { cron, scheduledTime: time, type: "scheduled", noRetry() {} };
  const ctx = makeCtx();
  await runInvocation(async () => {
    await dispatcher.scheduled(worker.module, controller, env, ctx);
    await settle(ctx);
  });
  return new Response("ok", { headers: { "content-type": "text/plain" } });
}

// Round-robin over a Worker's isolates, as Cloudflare spreads requests over many.
function roundRobin(isolates) {
  let next = 0;
  return () => isolates[next++ % isolates.length];
}

// A queue batch, as workerd runs one: an invocation of its own, reported back (by the Python
// dispatcher) only once its waitUntil work has settled (queue_consumer_no_wait_for_wait_until
// is off); it rejects when the handler or that work failed.
function queueConsumer(worker, isolates, env) {
  const pick = roundRobin(isolates);
  return (batch) =>
    runInvocation(async () => {
      const ctx = makeCtx();
      try {
        await pick().queue(worker.module, batch, env, ctx);
      } finally {
        await settle(ctx);
      }
    });
}

// A route rule's fault for this request, if any (after its latency): a 503 in our error
// contract with Retry-After, or a hang-up without an answer. True when it answered.
async function routeFault(worker, req, res, socket = req.socket) {
  const pathname = new URL(req.url, `http://${host}`).pathname;
  const rule = await faults.apply("route", { worker: worker.name, path: pathname });
  if (!rule) return false;
  if (rule.error === "reset") {
    resetSocket(socket);
  } else if (res) {
    await writeResponse(res, unavailableResponse(req.headers)).catch(() => res.destroy());
  } else {
    const response = unavailableResponse(req.headers);
    const body = await response.text();
    const lines = [`HTTP/1.1 503 Service Unavailable`, "connection: close"];
    for (const [name, value] of response.headers) lines.push(`${name}: ${value}`);
    lines.push(`content-length: ${Buffer.byteLength(body)}`, "", body);
    socket.end(lines.join("\r\n"));
  }
  return true;
}

function serve(worker, isolates, env) {
  const pick = roundRobin(isolates);
  const server = http.createServer(async (req, res) => {
    // Route faults first: the request never reaches Python.
    if (faults.active.length && (await routeFault(worker, req, res))) return;
    const dispatcher = pick();
    let response;
    let ctx = null; // a Worker invocation's, whose waitUntil work runs on after the response
    try {
      const url = new URL(req.url, `http://${host}`);
      if (url.pathname === "/cdn-cgi/local/scheduled") {
        response = await runScheduled(worker, dispatcher, env, url);
      } else if (EDGE_REFUSED_METHODS.has(req.method)) {
        // Cloudflare's edge answers these itself; fetch's Request cannot even carry them.
        response = errorResponse(405, "method_not_allowed", `${req.method} is not allowed.`, req.headers);
      } else {
        ctx = makeCtx();
        const request = await toWebRequest(req, worker);
        response = await runInvocation(() => dispatcher.fetch(worker.module, request, env, ctx));
        if (response.status === 101) throw new Error("101 answered a request without Upgrade");
      }
    } catch (err) {
      if (err instanceof TooLarge) {
        const message = `Request bodies are at most ${LIMITS.requestBodyBytes} bytes.`;
        response = errorResponse(413, "payload_too_large", message, req.headers);
      } else {
        // The Python app turns its own exceptions into JSON 500s; this is the runtime's last net.
        log(`${worker.name} uncaught:`, err);
        response = errorResponse(500, "internal_error", "The Worker threw an exception.", req.headers);
      }
    }
    try {
      await writeResponse(res, response);
    } catch (err) {
      log(`${worker.name} write failed:`, err);
      res.destroy();
    }
    // Only now, so waitUntil work never delays the response (as on Cloudflare).
    if (ctx) await settle(ctx);
  });
  // WebSockets: the Worker answers the upgrade request like any other request.
  // Requests Node's parser refuses (a method it does not know, like TRACK, which Cloudflare's
  // edge refuses itself) still get the error contract, never a bare 400.
  server.on("clientError", (err, socket) => refuseUnparsed(err, socket));
  server.on("upgrade", async (req, socket, head) => {
    if (faults.active.length && (await routeFault(worker, req, null, socket))) return;
    const dispatcher = pick();
    const call = async () => {
      const request = await toWebRequest(req, worker);
      return runInvocation(() => dispatcher.fetch(worker.module, request, env, makeCtx()));
    };
    answerUpgrade(req, socket, head, call, (...args) => log(`${worker.name}`, ...args));
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => server.listen(worker.port, host, () => resolve(server)));
}

// Messages a killed host had accepted but not settled go to Miniflare's broker again.
async function replayJournal(journal, bridge, producers) {
  const bindingOf = Object.fromEntries(Object.entries(producers).map(([b, q]) => [q, b]));
  const open = journal.recover();
  for (const { queue, body, contentType } of open) {
    await bridge.call("queue", bindingOf[queue], { op: "send", body, contentType });
  }
  if (open.length) log(`queue journal: ${open.length} message(s) accepted before a restart queued again`);
}

async function main() {
  const started = Date.now();
  const startRules = process.env.RS1_FAULTS ? parseRules(process.env.RS1_FAULTS) : null; // bad: exit now
  const workers = WORKERS.map(describeWorker);
  const queues = new QueueService(log);
  const mfReady = startMiniflare(workers, queues);
  // Each Worker's isolates: its own Pyodide instances, importing only its own module.
  const isolates = [];
  for (const w of workers) {
    const own = [];
    for (let i = 0; i < ISOLATES; i++) {
      const { dispatcher } = await startPyodide(w);
      dispatcher.load(w.module);
      own.push(dispatcher);
    }
    isolates.push(own);
  }
  const mf = await mfReady;
  const bridge = new Bridge(await mf.ready);
  const producers = {}; // binding -> queue, over every Worker
  for (const w of workers) {
    for (const [binding, { queueName }] of Object.entries(w.queueProducers)) producers[binding] = queueName;
  }
  const journal = new QueueJournal(path.join(stateDir, "queue-journal.jsonl"), producers);
  useJournal(journal);
  const objects = new DurableObjects(log);
  const envs = workers.map((w, i) => makeEnv(w, bridge, objects, isolates[i][0]));
  for (const [i, w] of workers.entries()) {
    for (const queue of Object.keys(w.queueConsumers)) {
      queues.consume(queue, w.name, queueConsumer(w, isolates[i], envs[i]));
      log(`${w.name.padEnd(15)} consumes queue ${queue}`);
      if (!isolates[i][0].handles(w.module, "queue")) {
        log(`warning: workers/${w.module}.py has no Default.queue(): every batch fails and is retried, as on Cloudflare`);
      }
    }
  }
  await replayJournal(journal, bridge, producers);
  const servers = [];
  // Before the Workers: once they answer /health, the control endpoint does too.
  if (process.env.RS1_CONTROL_PORT) {
    const port = Number(process.env.RS1_CONTROL_PORT);
    servers.push(await controlServer(faults, port, log));
    log(`fault control    http://127.0.0.1:${port}/faults  (GET, PUT a JSON list of rules, DELETE)`);
  }
  // RS1_FAULTS' windows count from here, as the Workers start answering.
  if (startRules) faults.set(startRules, "RS1_FAULTS");
  for (const [i, w] of workers.entries()) {
    servers.push(await serve(w, isolates[i], envs[i]));
    log(`${w.name.padEnd(15)} http://${host}:${w.port}  (workers/${w.module}.py, ${ISOLATES} isolates)`);
  }
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s; state in ${stateDir}`);
  const stop = async () => {
    for (const s of servers) s.close();
    await mf.dispose();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
