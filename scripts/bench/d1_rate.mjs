#!/usr/bin/env node
// How many telemetry rows per second one local D1 database takes, measured from inside a
// Worker on Miniflare (real workerd, D1's real SQLite), for docs/scaling.md ("Past one D1").
//
//   node scripts/bench/d1_rate.mjs          (about 80 s on 2 cores; prints a table)
//
// Env: D1_BENCH_SECONDS (per case, default 4), D1_BENCH_PRELOAD (rows for the "large table"
// cases, default 1000000), D1_BENCH_KEEP=1 keeps the temp state directory.
//
// D1 is persisted by Miniflare in a temp dir (deleted at the end). One database (binding DB)
// gets migrations/*.sql in order and 10,000 devices; a second, fresh one (BIG) gets the same
// plus the preloaded rows, so its size (meta.size_after) is theirs alone. A tiny inline module Worker builds realistic rows (~150-byte canonical JSON
// payloads, devices drawn at random from the 10,000) and writes them with the statements of
// workers/rs1/telemetry/store.py, one batch after another:
//   a    insert_raw as today: multi-row upserts of 12 rows (8 params a row, D1 binds at most
//        100), all of a batch's statements in one db.batch
//   a+   a plus mark_dirty and advance_last_seen (50 pairs a statement): ingest_statements
//   b    ONE upsert per batch, the rows in one JSON parameter read with json_each
//   c    b plus the batch's mark_dirty and advance_last_seen statements, in one db.batch
//   c'   c with the dirty markers and last_seen also read from one JSON parameter each
// Each case runs for D1_BENCH_SECONDS, first on an empty table (emptied before each case),
// then with D1_BENCH_PRELOAD rows already stored; then point reads by primary key.
// Rates are rows over the wall time of the whole case, measured in Node around the Worker
// requests (each request writes ~2,000 rows; the request overhead is inside the number).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare, convertV4MiniflareOptions } from "miniflare";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SECONDS = Number(process.env.D1_BENCH_SECONDS || 4);
const PRELOAD = Number(process.env.D1_BENCH_PRELOAD || 1_000_000);
const DEVICES = 10_000;

// The Worker. Row shape and SQL follow rs1.telemetry.store and rs1.devices.store.
const WORKER = String.raw`
const DEVICES = ${DEVICES};
const HOUR_MS = 3_600_000;
const UPSERT_TAIL =
  " ON CONFLICT (device_id, message_id) DO UPDATE SET " +
  "kind = excluded.kind, topic = excluded.topic, ts = excluded.ts, " +
  "received_at = excluded.received_at, hour = excluded.hour, payload = excluded.payload " +
  "WHERE (excluded.received_at, excluded.payload) < " +
  "(telemetry_raw.received_at, telemetry_raw.payload)";
const COLUMNS = "(device_id, message_id, kind, topic, ts, received_at, hour, payload)";
const JSON_INSERT =
  "INSERT INTO telemetry_raw " + COLUMNS + " SELECT value->>0, value->>1, value->>2, " +
  "value->>3, value->>4, value->>5, value->>6, value->>7 FROM json_each(?) WHERE true" +
  UPSERT_TAIL;
const JSON_DIRTY =
  "INSERT INTO telemetry_dirty (device_id, hour) SELECT value->>0, value->>1 " +
  "FROM json_each(?) WHERE true ON CONFLICT (device_id, hour) DO UPDATE SET gen = gen + 1";
const JSON_SEEN =
  "UPDATE devices SET last_seen = MAX(COALESCE(devices.last_seen, ''), s.at) FROM " +
  "(SELECT value->>0 AS device_id, MAX(value->>1) AS at FROM json_each(?) GROUP BY 1) AS s " +
  "WHERE devices.device_id = s.device_id";

let ids = null;
async function deviceIds() {
  if (!ids) {
    const enc = new TextEncoder();
    ids = await Promise.all(Array.from({ length: DEVICES }, async (_, i) => {
      const d = await crypto.subtle.digest("SHA-256", enc.encode("rs1-bench-device-" + i));
      return [...new Uint8Array(d)].slice(0, 16).map((b) => b.toString(16).padStart(2, "0")).join("");
    }));
  }
  return ids;
}

let rng = 0x9e3779b9;
function rand(n) { // xorshift32: cheap, deterministic per isolate
  rng ^= rng << 13; rng >>>= 0; rng ^= rng >>> 17; rng ^= rng << 5; rng >>>= 0;
  return rng % n;
}

function payload(kind, messageId, ts) { // canonical JSON: sorted keys, no spaces
  if (kind === "health") {
    return JSON.stringify({ free_heap: 150000 + rand(60000), message_id: messageId,
      radar_ok: true, rssi: -40 - rand(50), temperature_c: 30 + rand(200) / 10, ts,
      uptime_s: rand(10_000_000) });
  }
  const targets = Array.from({ length: 1 + rand(2) }, (_, id) => ({
    distance_mm: rand(15000), id, speed_mm_s: rand(2000) - 1000, x_mm: rand(8000) - 4000,
    y_mm: rand(10000) }));
  return JSON.stringify({ message_id: messageId, targets, ts });
}

function makeRows(all, run, first, n) {
  const now = Date.now();
  const rows = [];
  for (let i = 0; i < n; i++) {
    const device = all[rand(DEVICES)];
    const kind = (first + i) % 2 ? "health" : "targets";
    const messageId = run + "-" + (first + i).toString(36).padStart(6, "0");
    const receivedAt = now + i;
    const ts = receivedAt - 40 - rand(200);
    rows.push([device, messageId, kind, "opticworks/" + device + "/telemetry/" + kind, ts,
      receivedAt, Math.floor(receivedAt / HOUR_MS), payload(kind, messageId, ts)]);
  }
  return rows;
}

function chunks(items, size) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

// store.py insert_raw / mark_dirty, devices/store.py advance_last_seen (same SQL text).
function insertRaw(db, rows) {
  const values = rows.map(() => "(?, ?, ?, ?, ?, ?, ?, ?)").join(",");
  return db.prepare("INSERT INTO telemetry_raw " + COLUMNS + " VALUES " + values + UPSERT_TAIL)
    .bind(...rows.flat());
}
function markDirty(db, pairs) {
  const values = pairs.map(() => "(?, ?)").join(",");
  return db.prepare("INSERT INTO telemetry_dirty (device_id, hour) VALUES " + values +
    " ON CONFLICT (device_id, hour) DO UPDATE SET gen = gen + 1").bind(...pairs.flat());
}
function advanceLastSeen(db, seen) {
  const values = seen.map(() => "(?, ?)").join(",");
  return db.prepare("WITH seen (device_id, at) AS (VALUES " + values + ") " +
    "UPDATE devices SET last_seen = MAX(COALESCE(last_seen, ''), " +
    "(SELECT at FROM seen WHERE seen.device_id = devices.device_id)) " +
    "WHERE device_id IN (SELECT device_id FROM seen)").bind(...seen.flat());
}
function dirtyPairs(rows) {
  const set = new Map();
  for (const r of rows) set.set(r[0] + "|" + r[6], [r[0], r[6]]);
  return [...set.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, p]) => p);
}
function newestSeen(rows) {
  const newest = new Map();
  for (const r of rows) newest.set(r[0], Math.max(newest.get(r[0]) || 0, r[5]));
  return [...newest.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([d, at]) => [d, new Date(at).toISOString()]);
}

function statements(db, mode, rows) {
  const raw = mode.startsWith("a") ? chunks(rows, 12).map((c) => insertRaw(db, c))
    : [db.prepare(JSON_INSERT).bind(JSON.stringify(rows))];
  if (mode === "a" || mode === "b") return raw;
  if (mode === "c'") {
    return [...raw, db.prepare(JSON_DIRTY).bind(JSON.stringify(dirtyPairs(rows))),
      db.prepare(JSON_SEEN).bind(JSON.stringify(newestSeen(rows)))];
  }
  return [...raw, ...chunks(dirtyPairs(rows), 50).map((c) => markDirty(db, c)),
    ...chunks(newestSeen(rows), 50).map((c) => advanceLastSeen(db, c))];
}

async function write(db, q) {
  const all = await deviceIds();
  const [mode, size, batches, run] = [q.get("mode"), +q.get("size"), +q.get("batches"), q.get("run")];
  let rows = 0, statementsPerBatch = 0, payloadBytes = 0, paramBytes = 0, rowsWritten = 0;
  for (let b = 0; b < batches; b++) {
    const batch = makeRows(all, run, b * size, size);
    const list = statements(db, mode, batch);
    statementsPerBatch = list.length;
    payloadBytes += batch.reduce((s, r) => s + r[7].length, 0);
    if (mode[0] !== "a") paramBytes = JSON.stringify(batch).length;
    // meta.rows_written: what D1 bills (each index entry counts as a row written)
    for (const result of await db.batch(list)) rowsWritten += result.meta.rows_written || 0;
    rows += size;
  }
  return { rows, statementsPerBatch, payloadBytes, paramBytes, rowsWritten };
}

async function read(db, q) {
  const all = await deviceIds();
  const [mode, n, per] = [q.get("mode"), +q.get("n"), +q.get("per")];
  const sql = "SELECT payload FROM telemetry_raw WHERE device_id = ? AND message_id = ?";
  const key = () => [all[rand(DEVICES)], "p-" + rand(per)];
  let hits = 0;
  if (mode === "single") {
    for (let i = 0; i < n; i++) if (await db.prepare(sql).bind(...key()).first()) hits++;
  } else {
    for (let i = 0; i < n; i += 100) {
      const list = Array.from({ length: 100 }, () => db.prepare(sql).bind(...key()));
      for (const r of await db.batch(list)) hits += r.results.length;
    }
  }
  return { rows: n, hits };
}

async function setup(db) { // the fleet: 10,000 devices (last_seen is updated in place)
  const all = await deviceIds();
  const list = chunks(all, 1000).map((c) => db.prepare(
    "INSERT INTO devices (device_id, mac_address) SELECT value, " +
    "printf('02:00:00:%02x:%02x:%02x', ?, key / 256, key % 256) FROM json_each(?)",
  ).bind(all.indexOf(c[0]) / 1000, JSON.stringify(c)));
  await db.batch(list);
  return { devices: all.length };
}

// Rows already stored: per device, messages p-<first>..p-<first+per-1>, spread over 7 days
// (168 hours), shaped like the written ones: odd n health, even n targets with 1 or 2 targets.
const T = (id) => "{\"distance_mm\":%d,\"id\":" + id + ",\"speed_mm_s\":%d,\"x_mm\":%d,\"y_mm\":%d}";
const T_ARGS = "abs(random() % 15000), random() % 1000, random() % 4000, abs(random() % 10000)";
async function preload(db, q) {
  const [first, per, total] = [+q.get("first"), +q.get("per"), +q.get("total")];
  const start = Date.now() - 7 * 24 * HOUR_MS;
  const res = await db.prepare(
    // D1 binds a JS number as REAL: cast, so ids read 'p-3' (not 'p-3.0') and hours divide.
    "WITH RECURSIVE s(n) AS (SELECT CAST(?1 AS INTEGER) UNION ALL SELECT n + 1 FROM s " +
    "WHERE n < CAST(?1 + ?2 - 1 AS INTEGER)), r AS (SELECT d.device_id AS id, s.n AS n, " +
    "CAST(?3 AS INTEGER) + (s.n * " + DEVICES + " + d.rowid) * CAST(?4 AS INTEGER) AS at, " +
    "CASE s.n % 2 WHEN 1 THEN 'health' ELSE 'targets' END AS kind FROM s, devices AS d) " +
    "INSERT INTO telemetry_raw " + COLUMNS + " SELECT id, 'p-' || n, kind, " +
    "'opticworks/' || id || '/telemetry/' || kind, at - 90, at, at / " + HOUR_MS + ", " +
    "CASE WHEN kind = 'health' THEN printf('{\"free_heap\":%d,\"message_id\":\"p-%d\"," +
    "\"radar_ok\":true,\"rssi\":%d,\"temperature_c\":%.1f,\"ts\":%d,\"uptime_s\":%d}', " +
    "150000 + abs(random() % 60000), n, -40 - abs(random() % 50), " +
    "30 + abs(random() % 200) / 10.0, at - 90, abs(random() % 10000000)) " +
    "WHEN n % 4 = 0 THEN printf('{\"message_id\":\"p-%d\",\"targets\":[" + T(0) + "," + T(1) +
    "],\"ts\":%d}', n, " + T_ARGS + ", " + T_ARGS + ", at - 90) " +
    "ELSE printf('{\"message_id\":\"p-%d\",\"targets\":[" + T(0) + "],\"ts\":%d}', n, " +
    T_ARGS + ", at - 90) END FROM r",
  ).bind(first, per, start, Math.floor((7 * 24 * HOUR_MS) / total)).run();
  return { written: res.meta.changes };
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const q = url.searchParams;
    const db = env[q.get("db") || "DB"];
    try {
      switch (url.pathname) {
        case "/sql": { // {statements: [...]} in one batch (migrations, resets)
          const { statements: list } = await request.json();
          await db.batch(list.map((s) => db.prepare(s)));
          return Response.json({ ok: true });
        }
        case "/setup": return Response.json(await setup(db));
        case "/preload": return Response.json(await preload(db, q));
        case "/write": return Response.json(await write(db, q));
        case "/read": return Response.json(await read(db, q));
        case "/count": { // rows, and the database size as D1 reports it (meta.size_after)
          const r = await db.prepare(
            "SELECT COUNT(*) AS raw, AVG(LENGTH(payload)) AS payload FROM telemetry_raw").all();
          return Response.json({ ...r.results[0], bytes: r.meta.size_after });
        }
      }
      return new Response("not found", { status: 404 });
    } catch (e) {
      return new Response(String(e && e.stack || e), { status: 500 });
    }
  },
};
`;

const state = fs.mkdtempSync(path.join(os.tmpdir(), "rs1-d1-rate-"));
const mf = new Miniflare(convertV4MiniflareOptions({
  modules: true,
  script: WORKER,
  compatibilityDate: "2026-08-20",
  // DB: the empty-table cases. BIG: a fresh database for the preloaded cases, so its size
  // (D1's meta.size_after) is the preloaded rows' alone, not the free pages the resets leave.
  d1Databases: { DB: "rs1-bench", BIG: "rs1-bench-big" },
  resourcePersistencePath: state,
}));

async function call(route, body) {
  const res = await mf.dispatchFetch(`http://bench${route}`, body === undefined ? {}
    : { method: "POST", body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${route}: ${res.status} ${text}`);
  return JSON.parse(text);
}

function migrationStatements(sql) { // our migrations have no ';' or '--' inside literals
  return sql.split("\n").map((l) => l.replace(/--.*$/, "")).join("\n")
    .split(";").map((s) => s.trim()).filter(Boolean);
}

async function prepare(db) { // migrations/*.sql in order (one batch each), then the fleet
  const dir = path.join(root, "migrations");
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".sql")).sort();
  for (const f of files) {
    const statements = migrationStatements(fs.readFileSync(path.join(dir, f), "utf8"));
    await call(`/sql?db=${db}`, { statements });
  }
  const { devices } = await call(`/setup?db=${db}`);
  return `${files.length} migrations, ${fmt(devices)} devices`;
}

const results = [];
let runs = 0;
const fmt = (n, d = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const show = (label, rate, rest) => console.log(`  ${label.padEnd(34)} ${fmt(rate).padStart(8)} rows/s  ${rest}`);

async function reset(db) {
  await call(`/sql?db=${db}`, { statements: ["DELETE FROM telemetry_raw",
    "DELETE FROM telemetry_dirty", "UPDATE devices SET last_seen = NULL"] });
}

// One case: requests one after another (or `parallel` loops of them) for SECONDS, each
// request writing ~2,000 rows in batches of `size`, one batch after another.
async function writeCase(db, table, label, mode, size, parallel = 1) {
  const batches = Math.max(1, Math.round(2000 / size));
  const route = (n) => `/write?db=${db}&mode=${encodeURIComponent(mode)}&size=${size}` +
    `&batches=${n}&run=w${runs++}`;
  await call(route(1)); // warm the code path
  const t0 = performance.now();
  let rows = 0, done = 0, written = 0, info = null;
  const loop = async () => {
    while (performance.now() - t0 < SECONDS * 1000) {
      info = await call(route(batches));
      rows += info.rows;
      written += info.rowsWritten;
      done += batches;
    }
  };
  await Promise.all(Array.from({ length: parallel }, loop));
  const s = (performance.now() - t0) / 1000;
  const r = { label, table, size, statements: info.statementsPerBatch, rate: rows / s,
    msPerBatch: (s * 1000 * parallel) / done, payload: info.payloadBytes / info.rows,
    param: info.paramBytes, written: written / rows };
  results.push(r);
  show(label, r.rate, `${fmt(r.msPerBatch, 2)} ms a batch, ${fmt(r.written, 1)} D1 rows ` +
    `written a row  (${fmt(rows)} rows in ${fmt(s, 1)} s)`);
}

async function readCase(db, table, label, mode, per) {
  const n = mode === "single" ? 500 : 2000;
  await call(`/read?db=${db}&mode=${mode}&n=100&per=${per}`);
  const t0 = performance.now();
  let rows = 0, hits = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    const r = await call(`/read?db=${db}&mode=${mode}&n=${n}&per=${per}`);
    rows += r.rows;
    hits += r.hits;
  }
  const s = (performance.now() - t0) / 1000;
  const size = mode === "single" ? 1 : 100;
  results.push({ label, table, size, statements: size, rate: rows / s,
    msPerBatch: (s * 1000 * size) / rows });
  show(label, rows / s, `(${fmt(rows)} reads, ${fmt(hits)} found, ${fmt(s, 1)} s)`);
}

const WRITES = [["a   12-row VALUES upserts", "a"], ["a+  a + dirty + last_seen", "a+"],
  ["b   json_each, 1 statement", "b"], ["c   b + dirty + last_seen", "c"],
  ["c'  c, all three json_each", "c'"]];

const started = performance.now();
try {
  await mf.ready;
  const version = JSON.parse(fs.readFileSync(path.join(root, "node_modules/miniflare/package.json"))).version;
  console.log(`[d1-rate] Miniflare ${version} (workerd), state in ${state}, ${SECONDS} s a case`);
  console.log(`[d1-rate] DB: ${await prepare("DB")}; telemetry_raw emptied before each case`);
  for (const [label, mode] of WRITES) {
    await reset("DB");
    await writeCase("DB", "0", label, mode, 100);
  }
  for (const size of [10, 1000]) {
    await reset("DB");
    await writeCase("DB", "0", `b   json_each, batch ${size}`, "b", size);
  }
  await reset("DB");
  await writeCase("DB", "0", "b   batch 100, 4 requests at once", "b", 100, 4);

  console.log(`[d1-rate] BIG: ${await prepare("BIG")}`);
  const per = Math.max(1, Math.round(PRELOAD / DEVICES));
  const before = await call("/count?db=BIG");
  const t0 = performance.now();
  for (let first = 0; first < per; first += 10) {
    await call(`/preload?db=BIG&first=${first}&per=${Math.min(10, per - first)}&total=${per * DEVICES}`);
  }
  const preloadS = (performance.now() - t0) / 1000;
  const after = await call("/count?db=BIG");
  const perRow = (after.bytes - before.bytes) / after.raw;
  console.log(`[d1-rate] BIG: preloaded ${fmt(after.raw)} rows in ${fmt(preloadS, 1)} s ` +
    `(${fmt(after.raw / preloadS)} rows/s as INSERT ... SELECT of 100k rows), payloads ` +
    `${fmt(after.payload)} bytes on average; D1 size ${fmt(after.bytes / 2 ** 20)} MiB, ` +
    `${fmt(perRow)} bytes a row with its two indexes`);
  const big = `${fmt(after.raw / 1e6, 1)}M`;
  for (const [label, mode] of WRITES) await writeCase("BIG", big, label, mode, 100);
  await readCase("BIG", big, "read by primary key, 1 a query", "single", per);
  await readCase("BIG", big, "read by primary key, 100 a batch", "batch", per);

  console.log("\n| case | rows in table | rows a batch | statements a batch | rows/s | ms a batch " +
    "| D1 rows written a row |");
  console.log("|---|---|---|---|---|---|---|");
  for (const r of results) {
    console.log(`| ${r.label.replace(/\s+/g, " ")} | ${r.table} | ${r.size} | ${r.statements} | ` +
      `${fmt(r.rate)} | ${fmt(r.msPerBatch, 2)} | ${r.written === undefined ? "-" : fmt(r.written, 1)} |`);
  }
  const w = results.find((r) => r.size === 1000);
  console.log(`\npayload ${fmt(results[0].payload)} bytes a row on average; a 1000-row batch's ` +
    `json_each parameter ${fmt(w.param / 1024)} KiB; ${fmt(perRow)} bytes a stored row; ` +
    `total ${fmt((performance.now() - started) / 1000)} s`);
} finally {
  await mf.dispose();
  if (!process.env.D1_BENCH_KEEP) fs.rmSync(state, { recursive: true, force: true });
}
