"""`make bench`: throughput and latency on the local runtime, as ratios to /health.

Everything runs on 127.0.0.1 with bounded durations. Results are printed as a table and
written to .bench/results.json.
"""

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

from rs1.identity.keys import hour_of, mqtt_password
from rs1.identity.tokens import mint_token
from rs1.mqtt.topics import device_topic
from rs1tools.devvars import ROOT, secret
from rs1tools.loadgen import LoadResult, json_request, run_load
from rs1tools.localstack import LocalStack, free_port

CONCURRENCY = 16
DURATION = 6.0
DEVICES = 200


def enroll_fleet(api: str, n: int) -> list[dict]:
    token = mint_token(secret("JWT_SECRET"), "bench", "admin", time.time(), 3600)
    macs = [f"02:BE:00:00:{i >> 8:02X}:{i & 255:02X}" for i in range(n)]
    body = {"devices": [{"mac_address": m} for m in macs], "rotate": True}
    headers = {"authorization": f"Bearer {token}"}
    response = httpx.post(f"{api}/admin/devices:batch", json=body, headers=headers, timeout=60)
    response.raise_for_status()
    return response.json()["enrolled"]


def report(results: list[LoadResult], baseline: LoadResult) -> None:
    print(f"\n{'benchmark':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'ratio':>8}")
    for r in results:
        ratio = r.rps / baseline.rps if baseline.rps else 0
        print(
            f"{r.name:<34}{r.rps:>9.0f}{r.pct(0.5):>9.2f}{r.pct(0.99):>9.2f}"
            f"{r.errors:>8}{ratio:>8.2f}"
        )


async def run_all(stack: LocalStack, devices: list[dict]) -> list[LoadResult]:
    webhook_secret = secret("WEBHOOK_SECRET")
    hdr = {"x-webhook-secret": webhook_secret}
    tel = stack.urls["telemetry"]
    hour = hour_of(time.time())

    def health(_: int):
        return "GET", "/health", {}, b""

    def auth(i: int):
        d = devices[i % len(devices)]
        pw = mqtt_password(d["device_secret"], d["device_id"], hour)
        body = {"username": d["device_id"], "password": pw, "clientid": d["device_id"]}
        return json_request("POST", "/webhook/mqtt-auth", {**body, "peerhost": "127.0.0.1"}, hdr)

    def acl(i: int):
        me = devices[i % len(devices)]["device_id"]
        body = {"username": me, "clientid": me, "action": "publish"}
        body["topic"] = device_topic(me, "telemetry", "presence")
        return json_request("POST", "/webhook/mqtt-acl", body, hdr)

    def telemetry(batch: int):
        def make(i: int):
            now = int(time.time() * 1000)
            items = []
            for j in range(batch):
                d = devices[(i * batch + j) % len(devices)]["device_id"]
                payload = {
                    "message_id": f"b{batch}-{i}-{j}",
                    "ts": now,
                    "uptime_s": 1,
                    "free_heap": 1,
                    "rssi": -50,
                    "radar_ok": True,
                }
                items.append(
                    {
                        "id": f"e{i}-{j}",
                        "clientid": d,
                        "username": d,
                        "topic": device_topic(d, "telemetry", "health"),
                        "payload": json.dumps(payload),
                        "qos": 1,
                        "timestamp": now,
                        "publish_received_at": now,
                    }
                )
            return json_request("POST", "/webhook/telemetry", items if batch > 1 else items[0], hdr)

        return make

    results = [await run_load("GET /health (D1+KV+R2)", tel, health, CONCURRENCY, DURATION)]
    results.append(
        await run_load("POST /webhook/mqtt-auth (allow)", tel, auth, CONCURRENCY, DURATION)
    )
    results.append(
        await run_load("POST /webhook/mqtt-acl (D1 read)", tel, acl, CONCURRENCY, DURATION)
    )
    single = await run_load("telemetry single (msg/s)", tel, telemetry(1), CONCURRENCY, DURATION)
    batched = await run_load("telemetry batch x100 (req/s)", tel, telemetry(100), 8, DURATION)
    return [*results, single, batched]


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rs1-bench-") as state:
        stack = LocalStack(
            state_dir=Path(state),
            ports={k: free_port() for k in ("device_api", "ota", "telemetry")},
        )
        print("[bench] starting the local runtime on a fresh state ...", flush=True)
        cold = stack.start()
        try:
            print(f"[bench] cold start to all three /health 200: {cold:.1f} s (incl. migrations)")
            devices = enroll_fleet(stack.urls["device_api"], DEVICES)
            results = asyncio.run(run_all(stack, devices))
        finally:
            stack.stop()
    baseline = results[0]
    report(results, baseline)
    auth = results[1]
    ok = auth.rps / baseline.rps >= 0.5 and auth.pct(0.99) < 50 and auth.errors == 0
    print(
        f"\n[bench] auth webhook target (ratio >= 0.5, p99 < 50 ms): {'met' if ok else 'NOT met'}"
    )
    out = ROOT / ".bench"
    out.mkdir(exist_ok=True)
    data = {"cold_start_s": round(cold, 2), "results": [r.summary() for r in results]}
    (out / "results.json").write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
