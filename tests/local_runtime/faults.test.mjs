// The local host's fault injection (scripts/local_runtime/faults.mjs): rules, seeded rates,
// windows, latency, filters, counters, the errors injected and the control endpoint.
// Run by tests/unit/tools/test_local_runtime.py (node --test).
import assert from "node:assert/strict";
import { test } from "node:test";
import { D1Database, FaultyBridge, KvNamespace, R2Bucket } from "../../scripts/local_runtime/bindings.mjs";
import {
  FaultController,
  FaultRuleError,
  controlServer,
  faultyFetch,
  normalizeRule,
  unavailableResponse,
} from "../../scripts/local_runtime/faults.mjs";

// A controller on a clock the test moves.
function controller() {
  const clock = { t: 1_000_000 };
  const lines = [];
  const faults = new FaultController({ now: () => clock.t, log: (line) => lines.push(line) });
  return { faults, clock, lines };
}

const pattern = (faults, n, ctx = {}) =>
  Array.from({ length: n }, () => (faults.decide("d1", ctx)?.rule ? 1 : 0)).join("");

test("no rule: nothing is decided", () => {
  const { faults } = controller();
  assert.equal(faults.decide("d1", { worker: "rs1-device-api", binding: "DB" }), null);
});

test("rules get their defaults; bad rules are refused with the rule's index", () => {
  assert.deepEqual(normalizeRule({ target: "d1", rate: 1 }), {
    target: "d1", rate: 1, start_s: 0, duration_s: null, latency_ms: 0, binding: null,
    worker: null, paths: null, error: null, seed: null,
  });
  assert.equal(normalizeRule({ target: "route", paths: ["/a"] }).error, "503");
  const bad = [
    [{ target: "sqs" }, /target must be one of/],
    [{ target: "d1", rate: 1.5 }, /rate must be a number 0..1/],
    [{ target: "d1", rate: "1" }, /rate must be a number/],
    [{ target: "d1", duration_s: -1 }, /duration_s/],
    [{ target: "d1", paths: ["/x"] }, /paths are for target route/],
    [{ target: "route", paths: ["x"] }, /path prefixes/],
    [{ target: "route", error: "500" }, /error must be one of 503, reset/],
    [{ target: "kv", error: "503" }, /error is for target route/],
    [{ target: "emqx_api", binding: "DB" }, /binding is for targets/],
    [{ target: "d1", seed: 1.5 }, /seed must be an integer/],
    [{ target: "d1", rates: 1 }, /unknown field rates/],
  ];
  for (const [rule, message] of bad) {
    assert.throws(() => normalizeRule(rule, 3), (err) => err instanceof FaultRuleError && /^rule 3: /.test(err.message) && message.test(err.message));
  }
  const { faults } = controller();
  assert.throws(() => faults.set('{"target": "d1"}'), /expected a JSON list/);
  assert.throws(() => faults.set("[{"), SyntaxError);
});

test("a seeded rate fails the same operations every run, at about its rate", () => {
  const runs = [1, 2].map(() => {
    const { faults } = controller();
    faults.set([{ target: "d1", rate: 0.3, seed: 42 }]);
    return pattern(faults, 2000);
  });
  assert.equal(runs[0], runs[1]);
  const failed = [...runs[0]].filter((c) => c === "1").length;
  assert.ok(failed > 500 && failed < 700, `${failed} of 2000 at rate 0.3`);
  const { faults } = controller();
  faults.set([{ target: "d1", rate: 0.3, seed: 43 }]);
  assert.notEqual(pattern(faults, 2000), runs[0]); // another seed, another sequence
  faults.set([{ target: "d1", rate: 0 }]);
  assert.equal(pattern(faults, 100), "0".repeat(100));
  faults.set([{ target: "d1", rate: 1 }]);
  assert.equal(pattern(faults, 100), "1".repeat(100));
});

test("a window opens start_s after the rule is set and closes duration_s later", () => {
  const { faults, clock } = controller();
  faults.set([{ target: "kv", rate: 1, start_s: 2, duration_s: 3 }]);
  const at = (s) => {
    clock.t = 1_000_000 + s * 1000;
    return faults.decide("kv")?.rule ? "fail" : "pass";
  };
  assert.deepEqual([0, 1.9, 2, 4.9, 5, 60].map(at), ["pass", "pass", "fail", "fail", "pass", "pass"]);
  const [state] = faults.state();
  assert.equal(state.active, false);
  assert.equal(state.seen, 2); // operations outside the window are not the rule's
  assert.equal(state.injected, 2);
  // start_s counts from when the rules are set (again).
  faults.set([{ target: "kv", rate: 1, start_s: 2, duration_s: null }]);
  assert.equal(at(61), "pass");
  assert.equal(at(62), "fail");
  assert.equal(at(100_000), "fail"); // null: forever
});

test("latency is awaited before the operation, alone (rate 0) or with a fault", async () => {
  const { faults } = controller();
  faults.set([{ target: "d1", latency_ms: 120 }]);
  let started = performance.now();
  assert.equal(await faults.apply("d1", { binding: "DB" }), null);
  assert.ok(performance.now() - started >= 110, "the latency was awaited");
  faults.set([{ target: "d1", latency_ms: 60, rate: 1 }, { target: "d1", latency_ms: 60 }]);
  started = performance.now();
  assert.equal((await faults.apply("d1")).rate, 1);
  assert.ok(performance.now() - started >= 110, "latencies of matching rules add up");
  started = performance.now();
  assert.equal(await faults.apply("kv"), null); // another target: no delay
  assert.ok(performance.now() - started < 50);
});

test("filters: worker, binding and route path prefixes", () => {
  const { faults } = controller();
  faults.set([
    { target: "d1", rate: 1, binding: "TELEMETRY_DB_1", worker: "rs1-telemetry" },
    { target: "route", rate: 1, paths: ["/webhook/mqtt-auth", "/webhook/mqtt-acl"], error: "reset" },
  ]);
  const d1 = (worker, binding) => Boolean(faults.decide("d1", { worker, binding })?.rule);
  assert.equal(d1("rs1-telemetry", "TELEMETRY_DB_1"), true);
  assert.equal(d1("rs1-telemetry", "DB"), false);
  assert.equal(d1("rs1-device-api", "TELEMETRY_DB_1"), false);
  const route = (path) => faults.decide("route", { worker: "rs1-telemetry", path })?.rule?.error ?? null;
  assert.equal(route("/webhook/mqtt-auth"), "reset");
  assert.equal(route("/webhook/mqtt-acl/x"), "reset");
  assert.equal(route("/webhook/telemetry"), null);
  assert.equal(route("/health"), null);
  const [d1State, routeState] = faults.state();
  assert.deepEqual([d1State.seen, d1State.injected], [1, 1]);
  assert.deepEqual([routeState.seen, routeState.injected], [2, 2]);
});

test("counters: per rule, operations seen and faults injected; set() resets them", () => {
  const { faults, lines } = controller();
  faults.set([{ target: "r2", rate: 0.5, seed: 7 }, { target: "r2", rate: 0 }]);
  const failed = [...pattern({ decide: () => faults.decide("r2") }, 50)].filter((c) => c === "1").length;
  const [a, b] = faults.state();
  assert.deepEqual([a.seen, a.injected, b.seen, b.injected], [50, failed, 50, 0]);
  assert.ok(failed > 10 && failed < 40);
  assert.equal(a.active, true);
  assert.match(a.set_at, /^\d{4}-\d\d-\d\dT/);
  faults.set([{ target: "r2", rate: 1 }]);
  assert.deepEqual(faults.state().map((r) => [r.seen, r.injected]), [[0, 0]]);
  faults.clear();
  assert.deepEqual(faults.state(), []);
  assert.equal(lines.length, 3);
  assert.match(lines[0], /faults set \(control\): \[\{"target":"r2"/);
  assert.match(lines[2], /faults cleared/);
});

// A bridge that records what reached it (the real one talks to the bridge Worker).
function recordingBridge() {
  return {
    calls: [],
    async call(kind, binding, payload) {
      this.calls.push([kind, binding]);
      if (kind === "kv") return { value: null };
      return { results: [], meta: { changes: 0 } };
    },
    async fetch(path, headers) {
      this.calls.push(["r2", path, headers["x-r2-op"]]);
      return new Response(JSON.stringify({ objects: [], truncated: false }), { status: 200 });
    },
  };
}

test("D1, KV and R2 calls fail the way the real bindings fail, before reaching the bridge", async () => {
  const { faults } = controller();
  const inner = recordingBridge();
  const bridge = new FaultyBridge(inner, faults, "rs1-device-api");
  const db = new D1Database(bridge, "DB");
  const kv = new KvNamespace(bridge, "SESSIONS");
  const r2 = new R2Bucket(bridge, "FIRMWARE");
  await db.prepare("SELECT 1").all(); // no rule: through
  faults.set([{ target: "d1", rate: 1 }, { target: "kv", rate: 1 }, { target: "r2", rate: 1 }]);
  await assert.rejects(db.prepare("SELECT 1").all(), (err) => {
    assert.equal(err.message, "D1_ERROR: Network connection lost.");
    assert.equal(err.cause.message, "Network connection lost.");
    return true;
  });
  await assert.rejects(db.batch([db.prepare("SELECT 1")]), /^Error: D1_ERROR: Network connection lost\.$/);
  await assert.rejects(kv.get("k"), { message: "KV GET failed: 500 Internal Server Error" });
  await assert.rejects(kv.put("k", "v"), { message: "KV PUT failed: 500 Internal Server Error" });
  await assert.rejects(kv.delete("k"), { message: "KV DELETE failed: 500 Internal Server Error" });
  await assert.rejects(kv.list(), { message: "KV LIST failed: 500 Internal Server Error" });
  await assert.rejects(r2.get("fw.bin"), {
    message: "get: We encountered an internal error. Please try again. (10001)",
  });
  await assert.rejects(r2.put("fw.bin", "x"), { message: /^put: We encountered an internal error\. Please try again\. \(10001\)$/ });
  await assert.rejects(r2.head("fw.bin"), { message: /^head: .*\(10001\)$/ });
  assert.deepEqual(inner.calls, [["d1", "DB"]]); // nothing failed reached the bridge
  // Filtered to another Worker or binding: through.
  faults.set([{ target: "d1", rate: 1, worker: "rs1-telemetry" }, { target: "r2", rate: 1, binding: "ARCHIVES" }]);
  await db.prepare("SELECT 1").all();
  await r2.list();
  assert.deepEqual(inner.calls.slice(1), [["d1", "DB"], ["r2", "/r2/FIRMWARE", "list"]]);
  const [d1Rule, r2Rule] = faults.state();
  assert.deepEqual([d1Rule.seen, r2Rule.seen], [0, 0]);
});

test("queue sends are not a fault target", async () => {
  const { faults } = controller();
  faults.set([{ target: "d1", rate: 1 }, { target: "kv", rate: 1 }]);
  const inner = recordingBridge();
  await new FaultyBridge(inner, faults, "w").call("queue", "TELEMETRY_QUEUE", { op: "send" });
  assert.deepEqual(inner.calls, [["queue", "TELEMETRY_QUEUE"]]);
});

test("emqx_api: a fetch to the EMQX API origin rejects like an unreachable host; others pass", async () => {
  const { faults } = controller();
  const fetched = [];
  const fetch = faultyFetch(faults, "rs1-device-api", new Set(["http://127.0.0.1:18083"]), async (input) => {
    fetched.push(String(input?.url ?? input));
    return new Response("ok");
  });
  faults.set([{ target: "emqx_api", rate: 1 }]);
  await assert.rejects(fetch("http://127.0.0.1:18083/api/v5/publish", { method: "POST" }), (err) => {
    assert.ok(err instanceof TypeError);
    assert.equal(err.message, "fetch failed");
    assert.equal(err.cause.code, "ECONNREFUSED");
    assert.equal(err.cause.message, "connect ECONNREFUSED 127.0.0.1:18083");
    return true;
  });
  await assert.rejects(fetch(new Request("http://127.0.0.1:18083/api/v5/clients/x")), TypeError);
  assert.equal(await (await fetch("http://127.0.0.1:9999/jwks")).text(), "ok"); // another origin
  faults.set([{ target: "emqx_api", rate: 1, worker: "rs1-telemetry" }]);
  assert.equal(await (await fetch("http://127.0.0.1:18083/api/v5/publish")).text(), "ok");
  faults.clear();
  await fetch("http://127.0.0.1:18083/api/v5/publish");
  assert.deepEqual(fetched, [
    "http://127.0.0.1:9999/jwks",
    "http://127.0.0.1:18083/api/v5/publish",
    "http://127.0.0.1:18083/api/v5/publish",
  ]);
});

test("a route fault's 503 follows the error contract, with Retry-After", async () => {
  const response = unavailableResponse({ "x-request-id": "abc-123" });
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "1");
  assert.equal(response.headers.get("x-request-id"), "abc-123");
  const body = await response.json();
  assert.equal(body.error, "service_unavailable");
  assert.equal(body.request_id, "abc-123");
  assert.match(body.message, /retry later/);
});

test("the control endpoint: GET, PUT (replace; 400 for bad rules), DELETE, on 127.0.0.1", async () => {
  const { faults, lines } = controller();
  const server = await controlServer(faults, 0, () => {});
  const { address, port } = server.address();
  assert.equal(address, "127.0.0.1");
  const url = `http://127.0.0.1:${port}/faults`;
  try {
    assert.deepEqual(await (await fetch(url)).json(), { rules: [] });
    const rules = [{ target: "route", rate: 1, paths: ["/webhook/mqtt-auth"], error: "reset" }];
    const put = await fetch(url, { method: "PUT", body: JSON.stringify(rules) });
    assert.equal(put.status, 200);
    assert.equal((await put.json()).rules[0].error, "reset");
    faults.decide("route", { path: "/webhook/mqtt-auth" });
    const [state] = (await (await fetch(url)).json()).rules;
    assert.deepEqual([state.target, state.seen, state.injected, state.active], ["route", 1, 1, true]);
    const bad = await fetch(url, { method: "PUT", body: JSON.stringify([{ target: "d1", rate: 2 }]) });
    assert.equal(bad.status, 400);
    assert.match((await bad.json()).message, /rule 0: rate/);
    assert.equal(faults.state().length, 1); // a refused PUT changes nothing
    assert.equal((await fetch(url, { method: "PUT", body: "not json" })).status, 400);
    assert.equal((await fetch(url, { method: "POST", body: "[]" })).status, 405);
    assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
    assert.equal((await fetch(url, { method: "DELETE" })).status, 200);
    assert.deepEqual(faults.state(), []);
    assert.equal(lines.length, 2); // one line per change: set, cleared
  } finally {
    server.close();
  }
});
