"""`make bench`: throughput and latency on the local runtime, as ratios to /health.

Everything runs on 127.0.0.1 with bounded durations. Results are printed as a table and
written to .bench/results.json.
"""

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rs1contract.topics import device_topic

from rs1.identity.claim import claim_code
from rs1.identity.keys import hour_of, mqtt_password
from rs1tools.demo import admin_client, rollout, upload_firmware
from rs1tools.devvars import ROOT, secret
from rs1tools.fleet import Fleet, FleetConfig
from rs1tools.fleet_ota import FirmwareOta
from rs1tools.loadgen import LoadResult, json_request, run_load
from rs1tools.localstack import LocalStack, free_port
from rs1tools.sessions import api_token, bearer, bootstrap_token
from rs1tools.system import LocalSystem

CONCURRENCY = 16
DURATION = 6.0
DEVICES = 200
OWNED = 20  # devices one bench user claims for the device-API reads


def enroll_fleet(api: str, n: int, state_dir: Path) -> list[dict]:
    token = bootstrap_token("bench", "admin", 3600, state_dir=state_dir)
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
    results.append(await run_load("POST /webhook/mqtt-acl", tel, acl, CONCURRENCY, DURATION))
    single = await run_load(
        "telemetry single, queued (msg/s)", tel, telemetry(1), CONCURRENCY, DURATION
    )
    batched = await run_load(
        "telemetry batch x100, queued (req/s)", tel, telemetry(100), 8, DURATION
    )
    return [*results, single, batched]


def claim_for_owner(api: str, state_dir: Path, devices: list[dict]) -> dict[str, str]:
    """A user session that owns `devices` (claimed with their label codes): its headers."""
    with httpx.Client(base_url=api, timeout=60) as http:
        http.headers.update(bearer(bootstrap_token("bench", "admin", 3600, state_dir=state_dir)))
        owner = bearer(api_token(http, "bench-owner"))
        for d in devices:
            body = {"device_id": d["device_id"], "claim_code": claim_code(d["device_secret"])}
            http.post("/api/devices/claim", json=body, headers=owner).raise_for_status()
    return owner


async def device_api_bench(api: str, owner: dict[str, str], ids: list[str]) -> list[LoadResult]:
    """The zone editor's reads: the cached device view vs. the zones view (D1 every time)."""

    def device(i: int):
        return "GET", f"/api/devices/{ids[i % len(ids)]}", owner, b""

    def zones(i: int):
        return "GET", f"/api/devices/{ids[i % len(ids)]}/zones", owner, b""

    cached = await run_load("GET /api/devices/{id} (RS1_CACHE)", api, device, CONCURRENCY, DURATION)
    fresh = await run_load("GET /api/devices/{id}/zones (D1)", api, zones, CONCURRENCY, DURATION)
    return [cached, fresh]


async def rollout_bench(devices: int) -> dict[str, float]:
    """Time a full staged rollout (10% → 50% → 100%, ops advancing) to `devices` devices."""
    with (
        tempfile.TemporaryDirectory(prefix="rs1-bench-ota-") as state,
        LocalSystem.on_free_ports(Path(state)) as system,
    ):
        urls = system.urls
        admin = admin_client(urls["device_api"], Path(state))
        upload_firmware(admin)
        ota = FirmwareOta(secret("FIRMWARE_PUBLIC_KEY"), urls["ota"])
        config = FleetConfig(devices=devices, duration_s=None, mqtt_port=system.mqtt_port,
                             api=urls["device_api"], telemetry_interval_s=600.0,
                             admin_token=admin.headers["authorization"].split()[1],
                             ramp_s=devices / 25, connect_timeout_s=30.0)  # fmt: skip
        async with Fleet(config, ota=ota) as fleet:
            booted = time.monotonic()
            await fleet.wait_until(lambda f: len(f.connected_ids()) >= devices, devices / 5)
            connected = len(fleet.connected_ids())
            boot_s = time.monotonic() - booted
            started = time.monotonic()
            table = await rollout(admin, urls["telemetry"], targeted=False)
            seconds = time.monotonic() - started
            updated = sum(d.firmware_version == "1.1.0" for d in fleet.devices)
        await ota.close()
    print(f"[bench] OTA: {connected}/{devices} devices connected in {boot_s:.0f} s; full rollout"
          f" 10%→50%→100% to {updated} devices in {seconds:.1f} s"
          f" (stages: {', '.join(f'{t[3]:.1f}s' for t in table)})")  # fmt: skip
    return {"devices": devices, "connected": connected, "updated": updated, "seconds": seconds}


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="rs1-bench-") as state:
        stack = LocalStack(
            state_dir=Path(state),
            ports={k: free_port() for k in ("device_api", "ota", "telemetry")},
            # One client IP sends everything here; the limiter still runs (and costs) per request.
            worker_vars={"API_RATE_LIMIT_PER_MINUTE": "1000000000"},
        )
        print("[bench] starting the local runtime on a fresh state ...", flush=True)
        cold = stack.start()
        try:
            print(f"[bench] cold start to all three /health 200: {cold:.1f} s (incl. migrations)")
            devices = enroll_fleet(stack.urls["device_api"], DEVICES, Path(state))
            results = asyncio.run(run_all(stack, devices))
            owned = devices[:OWNED]
            owner = claim_for_owner(stack.urls["device_api"], Path(state), owned)
            ids = [d["device_id"] for d in owned]
            results += asyncio.run(device_api_bench(stack.urls["device_api"], owner, ids))
        finally:
            stack.stop()
    baseline = results[0]
    report(results, baseline)
    auth = results[1]
    ok = auth.rps / baseline.rps >= 0.5 and auth.pct(0.99) < 50 and auth.errors == 0
    print(
        f"\n[bench] auth webhook target (ratio >= 0.5, p99 < 50 ms): {'met' if ok else 'NOT met'}"
    )
    per_s = next(r for r in results if r.name.startswith("telemetry batch")).rps * 100
    print(
        f"[bench] batched ingest (validated and queued): {per_s:.0f} messages/s"
        f" ({per_s / baseline.rps:.1f}x /health req/s);"
        f" target >= 2,000 messages/s: {'met' if per_s >= 2000 else 'NOT met'}"
    )
    out = ROOT / ".bench"
    out.mkdir(exist_ok=True)
    devices = int(os.environ.get("RS1_BENCH_ROLLOUT_DEVICES", "1000"))
    ota = asyncio.run(rollout_bench(devices)) if devices else None
    data = {
        "cold_start_s": round(cold, 2),
        "results": [r.summary() for r in results],
        "rollout": ota,
    }
    (out / "results.json").write_text(json.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
