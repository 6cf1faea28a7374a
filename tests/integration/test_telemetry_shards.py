"""Telemetry over two D1 shards on our host (TELEMETRY_SHARDS=2: DB and TELEMETRY_DB_1, each a
local D1 of Miniflare's with the migrations applied): ingest through POST /webhook/telemetry,
the device API's reads, the fleet count and the hourly job, checked in each database."""

import gzip
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from system_fixtures import ENV_URLS

from helpers import envelope
from rs1.identity.device_id import device_id_from_mac
from rs1.storage.shards import shard_of
from rs1.telemetry.archive import archive_key
from rs1.telemetry.ingest import HOUR_MS
from rs1tools.devvars import secret
from rs1tools.localstack import ROOT, LocalStack, free_port, local_d1_query, tool_env
from rs1tools.sessions import bearer, bootstrap_token

SHARDS = 2
BINDINGS = ["DB", "TELEMETRY_DB_1"]  # shard i's D1 binding (wrangler.toml)
MACS = [f"02:00:00:00:0C:{i:02X}" for i in range(16)]
DEVICES = [device_id_from_mac(m) for m in MACS]
PER_DEVICE = 5


@dataclass
class Sharded:
    stack: LocalStack
    state_dir: Path

    def client(self, worker: str) -> httpx.Client:
        return httpx.Client(base_url=self.stack.urls[worker], timeout=30)


@pytest.fixture(scope="module")
def sharded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sharded]:
    """A local stack of its own, started with RS1_VAR_TELEMETRY_SHARDS=2 (the session's
    system keeps one shard)."""
    if all(os.environ.get(v) for v in ENV_URLS.values()):
        pytest.skip("needs a local runtime started with TELEMETRY_SHARDS=2")
    state_dir = tmp_path_factory.mktemp("rs1-sharded")
    ports = {n: free_port() for n in ("device_api", "ota", "telemetry")}
    worker_vars = {"TELEMETRY_SHARDS": str(SHARDS), "API_RATE_LIMIT_PER_MINUTE": "1000000"}
    stack = LocalStack(state_dir=state_dir, ports=ports, worker_vars=worker_vars)
    stack.start()
    try:
        yield Sharded(stack, state_dir)
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def admin(sharded: Sharded) -> Iterator[httpx.Client]:
    token = bootstrap_token("shard-tests", "admin", 7200, state_dir=sharded.state_dir)
    with sharded.client("device_api") as client:
        client.headers.update(bearer(token))
        yield client


@pytest.fixture(scope="module")
def webhook(sharded: Sharded) -> Iterator[httpx.Client]:
    with sharded.client("telemetry") as client:
        client.headers["x-webhook-secret"] = secret("WEBHOOK_SECRET")
        yield client


def d1_query(state_dir: Path, binding: str, sql: str) -> list[dict]:
    """Straight from one shard's local D1, beside the running host."""
    return local_d1_query(state_dir, sql, binding)


def r2_get(state_dir: Path, key: str, dest: Path) -> bytes:
    subprocess.run(
        ["npx", "wrangler", "r2", "object", "get", f"rs1-telemetry-archives/{key}", "--local"]
        + ["--persist-to", str(state_dir), "--file", str(dest)],
        cwd=ROOT,
        env=tool_env({"CI": "true"}),
        check=True,
        capture_output=True,
        timeout=120,
    )
    return dest.read_bytes()


@pytest.fixture(scope="module")
def ingested(sharded: Sharded, admin: httpx.Client, webhook: httpx.Client) -> int:
    """The devices enrolled, each PER_DEVICE messages delivered (twice, in another order)."""
    assert {shard_of(d, SHARDS) for d in DEVICES} == {0, 1}  # the fleet spans both shards
    for mac in MACS:
        response = admin.post("/admin/devices", json={"mac_address": mac})
        assert response.status_code == 201, response.text
        assert response.json()["device_id"] in DEVICES
    batch = [envelope(d, f"{d[:8]}-{n}") for d in DEVICES for n in range(PER_DEVICE)]
    for part in (batch[:40], batch[40:], list(reversed(batch))):  # redelivered: stored once
        response = webhook.post("/webhook/telemetry", json=part)
        assert response.status_code == 200, response.text
        assert response.json()["rejected"] == []
    # Accepted rows may still be on the ingest queue: wait until each device's are stored.
    pending, deadline = set(DEVICES), time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for d in sorted(pending):
            page = admin.get(f"/api/devices/{d}/telemetry", params={"from": 0})
            if len(page.json()["items"]) >= PER_DEVICE:
                pending.discard(d)
        time.sleep(0.25)
    assert not pending, f"{len(pending)} devices' telemetry not stored in 60 s"
    return min(e["publish_received_at"] for e in batch)


def test_rows_land_in_each_devices_shard_exactly_once(sharded: Sharded, ingested: int) -> None:
    for shard, binding in enumerate(BINDINGS):
        sql = "SELECT device_id, COUNT(*) AS n FROM telemetry_raw GROUP BY device_id"
        rows = d1_query(sharded.state_dir, binding, sql)
        mine = {d for d in DEVICES if shard_of(d, SHARDS) == shard}
        assert {r["device_id"]: r["n"] for r in rows} == dict.fromkeys(mine, PER_DEVICE)
    # last_seen went to the main database, for devices of either shard.
    seen = d1_query(sharded.state_dir, "DB", "SELECT device_id, last_seen FROM devices")
    assert all(r["last_seen"] for r in seen) and len(seen) == len(DEVICES)


def test_the_device_api_reads_each_device_from_its_shard(admin: httpx.Client, ingested) -> None:
    for d in DEVICES:
        items, cursor = [], None
        while True:
            params = {"from": 0, "limit": 2, **({"cursor": cursor} if cursor else {})}
            page = admin.get(f"/api/devices/{d}/telemetry", params=params)
            assert page.status_code == 200, page.text
            items += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if not cursor:
                break
        assert sorted(i["message_id"] for i in items) == [f"{d[:8]}-{n}" for n in range(5)]


def test_fleet_counts_sum_over_the_shards(admin: httpx.Client, ingested) -> None:
    overview = admin.get("/admin/fleet")
    assert overview.status_code == 200, overview.text
    assert overview.json()["telemetry_rows"] == len(DEVICES) * PER_DEVICE


def test_the_hourly_job_rolls_up_and_archives_per_shard(
    sharded: Sharded, admin: httpx.Client, ingested: int, tmp_path: Path
) -> None:
    later = int(time.time() * 1000) + 2 * HOUR_MS  # every hour written to is closed by then
    with sharded.client("telemetry") as telemetry:
        response = telemetry.post(
            "/cdn-cgi/local/scheduled", params={"cron": "0 * * * *", "time": later}
        )
    assert response.status_code == 200 and response.text == "ok"
    for d in DEVICES:
        page = admin.get(f"/api/devices/{d}/telemetry",
                         params={"from": 0, "to": later, "resolution": "hour"})  # fmt: skip
        assert page.status_code == 200, page.text
        assert sum(h["message_count"] for h in page.json()["items"]) == PER_DEVICE
    for shard, binding in enumerate(BINDINGS):
        sql = "SELECT hour, object_key, row_count, verified FROM telemetry_archives"
        records = d1_query(sharded.state_dir, binding, sql)
        mine = {d for d in DEVICES if shard_of(d, SHARDS) == shard}
        assert records and all(r["verified"] == 1 for r in records)
        assert {r["object_key"] for r in records} == {
            archive_key(r["hour"], shard, SHARDS) for r in records
        }
        assert sum(r["row_count"] for r in records) == len(mine) * PER_DEVICE
        first = min(records, key=lambda r: r["hour"])
        data = r2_get(sharded.state_dir, first["object_key"], tmp_path / f"s{shard}.jsonl.gz")
        lines = [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]
        assert lines and {line["device_id"] for line in lines} <= mine  # its own rows only
        assert len(lines) == first["row_count"]
        markers = d1_query(sharded.state_dir, binding, "SELECT COUNT(*) AS n FROM telemetry_dirty")
        assert markers == [{"n": 0}]
