// Durable Objects for the Python Workers, in process: namespace bindings (idFromName, get,
// getByName, stub.fetch), one Python instance per id for the host's lifetime, and the subset
// of the state API the RS-1 objects use — the WebSocket hibernation API (acceptWebSocket,
// getWebSockets, webSocketMessage/webSocketClose/webSocketError handlers), waitUntil and
// blockConcurrencyWhile. Not emulated: storage, alarms, input/output gates, eviction (an
// instance never hibernates here, so its memory survives where production's may not).
//
// A binding names a class and optionally the Worker defining it (`script_name`); the class is
// always instantiated with that Worker's env, as on Cloudflare.
import { createHash, randomBytes } from "node:crypto";
import { countSubrequest, runInvocation } from "./limits.mjs";

export class DurableObjectId {
  constructor(hex, name) {
    this.hex = hex;
    if (name !== undefined) this.name = name;
  }
  toString() {
    return this.hex;
  }
  equals(other) {
    return other instanceof DurableObjectId && other.hex === this.hex;
  }
}

class DurableObjectState {
  constructor(id, log) {
    this.id = id;
    this.log = log;
    this.sockets = new Map(); // WebSocket -> tags
    this.handlers = null; // set once the instance exists
    this.storage = null; // not emulated (the RS-1 objects keep no storage)
  }

  waitUntil(promise) {
    Promise.resolve(promise).catch((e) => this.log("durable object waitUntil failed:", e));
  }

  async blockConcurrencyWhile(fn) {
    return await fn();
  }

  acceptWebSocket(ws, tags = []) {
    ws.acceptWith((kind, ...args) => {
      if (kind === "close") this.sockets.delete(ws);
      this.handlers?.(kind, ws, ...args);
    });
    this.sockets.set(ws, Array.from(tags ?? []));
  }

  getWebSockets(tag) {
    const all = [...this.sockets.entries()];
    return all.filter(([, tags]) => tag === undefined || tags.includes(tag)).map(([ws]) => ws);
  }

  getTags(ws) {
    return this.sockets.get(ws) ?? [];
  }

  setWebSocketAutoResponse() {
    throw new Error("setWebSocketAutoResponse is not emulated by the local runtime");
  }
}

// The stub a namespace's get() returns: fetch() reaches the object's fetch handler.
class DurableObject {
  constructor(registry, ns, id) {
    this.registry = registry;
    this.ns = ns;
    this.id = id;
    this.name = id.name;
  }

  fetch(input, init) {
    countSubrequest();
    const request = new Request(input, init);
    return this.registry.fetch(this.ns, this.id, request);
  }
}

export class DurableObjectNamespace {
  constructor(registry, scriptName, className) {
    this.registry = registry;
    this.scriptName = scriptName;
    this.className = className;
  }

  idFromName(name) {
    const hash = createHash("sha256").update(`${this.scriptName}/${this.className}/${name}`);
    return new DurableObjectId(hash.digest("hex"), String(name));
  }

  idFromString(hex) {
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new TypeError("Invalid Durable Object ID");
    return new DurableObjectId(hex);
  }

  newUniqueId() {
    return new DurableObjectId(randomBytes(32).toString("hex"));
  }

  get(id) {
    return new DurableObject(this.registry, this, id);
  }

  getByName(name) {
    return this.get(this.idFromName(name));
  }

  jurisdiction() {
    return this;
  }
}

// Hibernation-API events and the object methods that receive them (workerd's raw arguments).
const HANDLERS = { message: "webSocketMessage", close: "webSocketClose", error: "webSocketError" };

// All Workers' object classes and live instances. Each class runs in one Pyodide isolate of
// its Worker: `dispatcher` is that isolate's Python shim (rs1_local_dispatch), which constructs
// instances and calls their handlers. An object id has one instance, whichever isolate of
// which Worker addresses it, as on Cloudflare.
export class DurableObjects {
  constructor(log) {
    this.log = log;
    this.classes = new Map(); // "script/class" -> { module, env, dispatcher }
    this.instances = new Map(); // "script/class/idhex" -> { state, instance, dispatcher }
  }

  // A Worker's env is complete only after its namespaces exist, so classes register late.
  define(scriptName, className, module, env, dispatcher) {
    this.classes.set(`${scriptName}/${className}`, { module, env, dispatcher });
  }

  namespace(scriptName, className) {
    return new DurableObjectNamespace(this, scriptName, className);
  }

  instanceFor(ns, id) {
    const key = `${ns.scriptName}/${ns.className}/${id.hex}`;
    let entry = this.instances.get(key);
    if (entry) return entry;
    const cls = this.classes.get(`${ns.scriptName}/${ns.className}`);
    if (!cls) throw new Error(`No Durable Object class ${ns.className} in ${ns.scriptName}`);
    const state = new DurableObjectState(id, this.log);
    const { dispatcher } = cls;
    const instance = dispatcher.durable_object(cls.module, ns.className, state, cls.env);
    state.handlers = (kind, ws, ...args) => this.socketEvent(entry, kind, ws, args);
    entry = { state, instance, dispatcher };
    this.instances.set(key, entry);
    return entry;
  }

  // A request to an object is an invocation of its own (its own limits), as on Cloudflare.
  async fetch(ns, id, request) {
    const { instance, dispatcher } = this.instanceFor(ns, id);
    return await runInvocation(() => dispatcher.durable_object_fetch(instance, request));
  }

  socketEvent({ instance, dispatcher }, kind, ws, args) {
    const method = HANDLERS[kind];
    if (!method) return;
    // Each hibernation event is an invocation of its own (its own limits).
    runInvocation(() => Promise.resolve().then(() => dispatcher.durable_object_call(instance, method, ws, ...args)))
      .catch((e) => this.log(`durable object ${method} failed:`, e));
  }
}
