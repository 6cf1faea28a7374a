// The JavaScript anchor for `make bench-workerd`: what the spec's TypeScript Workers do on the
// hot paths EMQX calls, written plainly in JS, so our Python Workers are measured against it on
// the same workerd in the same run. Not deployed; bench only.
//
//   GET  /health               trivial Worker (no I/O)
//   POST /webhook/mqtt-auth    X-Webhook-Secret check, D1 primary-key read, the device secret
//                              and the hour's password as WebCrypto HMACs, constant-time compare
//   POST /webhook/telemetry    the spec's synchronous ingest: one INSERT per message
//   POST /bench/fill?n=N&delay=S  N telemetry rows onto the ingest queue, delivered after S s
//   GET  /bench/count          rows in telemetry_raw
const encoder = new TextEncoder();
const keys = new Map(); // imported HMAC keys by secret

function hex(buffer) {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function hmacHex(secret, message) {
  let key = keys.get(secret);
  if (!key) {
    const raw = encoder.encode(secret);
    key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    if (keys.size < 1024) keys.set(secret, key);
  }
  return hex(await crypto.subtle.sign("HMAC", key, encoder.encode(message)));
}

function sameText(a, b) {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

const json = (body, status = 200) => Response.json(body, { status });

async function mqttAuth(body, env) {
  const { username, password } = body;
  const device = await env.DB.prepare(
    "SELECT status, key_generation FROM devices WHERE device_id = ?",
  )
    .bind(username)
    .first();
  if (!device || device.status !== "active") return json({ result: "deny" });
  const secret = await hmacHex(
    env.DEVICE_MASTER_KEY,
    `rs1-device-secret:v1:${username}:${device.key_generation}`,
  );
  const hour = Math.floor(Date.now() / 3_600_000);
  for (const h of [hour, hour - 1]) {
    if (sameText(await hmacHex(secret, `${username}:${h}`), password)) {
      return json({ result: "allow", is_superuser: false });
    }
  }
  return json({ result: "deny" });
}

async function telemetry(body, env) {
  const [, deviceId, , ...kind] = body.topic.split("/");
  const payload = JSON.parse(body.payload);
  await env.DB.prepare(
    "INSERT OR IGNORE INTO telemetry_raw " +
      "(device_id, message_id, kind, topic, ts, received_at, hour, payload) " +
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  )
    .bind(deviceId, payload.message_id, kind.join("/"), body.topic, payload.ts,
      body.timestamp, Math.floor(body.timestamp / 3_600_000), body.payload)
    .run();
  return json({ accepted: 1, rejected: [] });
}

// Queue bodies exactly as rs1-telemetry's webhook enqueues them (rs1.telemetry.queue).
function queuedRow(run, i, now) {
  const deviceId = (i % 1000).toString(16).padStart(32, "0");
  const payload = JSON.stringify({ message_id: `${run}-${i}`, ts: now, uptime_s: i });
  return JSON.stringify({
    v: 1,
    device_id: deviceId,
    message_id: `${run}-${i}`,
    kind: "health",
    topic: `opticworks/${deviceId}/telemetry/health`,
    ts: now,
    received_at: now,
    payload,
  });
}

async function fill(url, env) {
  const n = Number(url.searchParams.get("n") || 1000);
  const run = url.searchParams.get("run") || String(Date.now());
  const delaySeconds = Number(url.searchParams.get("delay") || 0);
  const now = Date.now();
  for (let start = 0; start < n; start += 100) {
    const messages = [];
    for (let i = start; i < Math.min(n, start + 100); i++) {
      messages.push({ body: queuedRow(run, i, now) });
    }
    await env.TELEMETRY_QUEUE.sendBatch(messages, { delaySeconds });
  }
  return json({ queued: n, run });
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/health") return json({ status: "ok", worker: "js-anchor" });
    if (url.pathname === "/bench/count") {
      const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM telemetry_raw").first();
      return json({ rows: row.n });
    }
    if (url.pathname === "/bench/fill") return fill(url, env);
    if (request.method !== "POST") return json({ error: "not_found" }, 404);
    const secret = request.headers.get("x-webhook-secret") || "";
    if (!sameText(secret, env.WEBHOOK_SECRET)) return json({ error: "unauthorized" }, 401);
    const body = await request.json();
    if (url.pathname === "/webhook/mqtt-auth") return mqttAuth(body, env);
    if (url.pathname === "/webhook/telemetry") return telemetry(body, env);
    return json({ error: "not_found" }, 404);
  },
};
