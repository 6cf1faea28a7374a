"""Telemetry over two shards, two separate SQLite databases with the real migrations: ingest
exactly once per shard, reads routed or fanned in, the cross-shard cursor, the hourly job and
its archives per shard, and the HTTP handlers on top."""

import asyncio
import gzip
import json
import random
import re
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import Clock, enroll_one, envelope, fresh_db, unit_services
from rs1.apps import device_api, telemetry
from rs1.identity.device_id import device_id_from_mac
from rs1.identity.sessions import start_session
from rs1.messages import ApiRequest
from rs1.services import Services
from rs1.settings import Settings
from rs1.storage.database import StorageError
from rs1.storage.memory import MemoryBlobs, MemoryKv
from rs1.storage.shards import Shards, shard_of
from rs1.storage.sqlite import SqliteDatabase
from rs1.telemetry import store
from rs1.telemetry.archive import archive_key, manifest_key
from rs1.telemetry.ingest import HOUR_MS, RawRow
from rs1.telemetry.jobs import run_hourly
from rs1.timefmt import iso_ms

T0 = 491_000 * HOUR_MS  # an hour boundary
HOUR = T0 // HOUR_MS
MACS = [f"AA:BB:CC:00:0A:{i:02X}" for i in range(8)]
DEVICES = [device_id_from_mac(m) for m in MACS]
ON = {i: [d for d in DEVICES if shard_of(d, 2) == i] for i in (0, 1)}


def run(coro):
    return asyncio.run(coro)


def raw(device: str, message: str, at: int = T0, kind: str = "health", **payload) -> RawRow:
    body = json.dumps({"rssi": -50, **payload}, sort_keys=True, separators=(",", ":"))
    return RawRow(device, message, kind, f"opticworks/{device}/telemetry/{kind}", at - 5, at, body)


def two_shards() -> tuple[SqliteDatabase, SqliteDatabase, Shards]:
    """The main database (shard 0, where the devices are enrolled) and shard 1."""
    main, other = fresh_db(), fresh_db()
    for mac in MACS:
        enroll_one(main, mac)
    return main, other, Shards([main, other])


def table(db, name: str, order: str = "device_id, message_id") -> list[dict]:
    return run(db.all(f"SELECT * FROM {name} ORDER BY {order}"))


def devices_in(db, name: str) -> set[str]:
    return {r["device_id"] for r in table(db, name, "device_id")}


class Recording:
    """A Database that counts its batches and can be made to fail them (an outage)."""

    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        self.batches = 0
        self.failing = False

    async def all(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        if self.failing:
            raise StorageError("D1_ERROR: shard unavailable")
        return await self.db.all(sql, *params)

    async def first(self, sql: str, *params: Any) -> dict[str, Any] | None:
        rows = await self.all(sql, *params)
        return rows[0] if rows else None

    async def run(self, sql: str, *params: Any):
        if self.failing:
            raise StorageError("D1_ERROR: shard unavailable")
        return await self.db.run(sql, *params)

    async def batch(self, statements):
        self.batches += 1
        if self.failing:
            raise StorageError("D1_ERROR: shard unavailable")
        return await self.db.batch(statements)


def test_the_fixture_devices_live_in_both_shards() -> None:
    assert len(ON[0]) >= 2 and len(ON[1]) >= 2


# (device, message_id, received_at offset, payload variant): redeliveries repeat a message
# exactly or with another receive time and payload (QoS 1 dup), in any order and batching.
messages = st.tuples(
    st.sampled_from(DEVICES[:4] + ON[1][:1]),
    st.sampled_from([f"m-{n}" for n in range(5)]),
    st.integers(0, 3 * HOUR_MS),
    st.integers(0, 2),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(messages, max_size=30), st.integers(1, 8), st.randoms(use_true_random=False))
def test_exactly_once_per_shard_whatever_the_deliveries(
    deliveries: list[tuple[str, str, int, int]], batch: int, rnd: random.Random
) -> None:
    main, other, shards = two_shards()
    rows = [raw(d, m, T0 + offset, rssi=-variant) for d, m, offset, variant in deliveries]
    rnd.shuffle(rows)
    for start in range(0, len(rows), batch):
        run(store.store_rows(shards, rows[start : start + batch]))
    expected: dict[tuple[str, str], RawRow] = {}
    newest: dict[str, int] = {}
    for r in rows:
        best = expected.get((r.device_id, r.message_id))
        if best is None or (r.received_at, r.payload) < (best.received_at, best.payload):
            expected[(r.device_id, r.message_id)] = r
        newest[r.device_id] = max(newest.get(r.device_id, 0), r.received_at)
    for index, db in enumerate(shards.databases):
        got = {(r["device_id"], r["message_id"]): r for r in table(db, "telemetry_raw")}
        mine = {k: r for k, r in expected.items() if shard_of(k[0], 2) == index}
        assert set(got) == set(mine)  # once, and only in the device's shard
        for key, r in mine.items():
            assert (got[key]["received_at"], got[key]["payload"]) == (r.received_at, r.payload)
        assert devices_in(db, "telemetry_dirty") == {d for d, _ in mine}
    assert run(store.row_count(shards)) == len(expected)
    # last_seen is in the main database, whichever shard holds the rows.
    seen = {r["device_id"]: r["last_seen"] for r in table(main, "devices", "device_id")}
    assert {d: seen[d] for d in newest} == {d: iso_ms(at) for d, at in newest.items()}
    assert table(other, "devices", "device_id") == []


def test_one_shard_writes_one_batch_as_before() -> None:
    main = Recording(fresh_db())
    run(store.store_rows(Shards([main]), [raw(d, "m-1") for d in DEVICES]))
    assert main.batches == 1 and len(run(main.db.all("SELECT 1 FROM telemetry_raw"))) == 8


def test_each_shard_gets_one_batch_then_last_seen_goes_to_the_main_database() -> None:
    main, other, _ = two_shards()
    zero, one = Recording(main), Recording(other)
    run(store.store_rows(Shards([zero, one]), [raw(d, "m-1") for d in DEVICES]))
    assert (zero.batches, one.batches) == (2, 1)  # rows; then last_seen
    run(store.store_rows(Shards([zero, one]), [raw(ON[1][0], "m-2")]))
    assert (zero.batches, one.batches) == (3, 2)  # shard 0 has no rows: last_seen only


def test_a_failing_shard_fails_the_ingest_before_last_seen_and_a_retry_converges() -> None:
    main, other, _ = two_shards()
    one = Recording(other)
    shards = Shards([main, one])
    rows = [raw(d, "m-1", T0 + 7) for d in DEVICES]
    one.failing = True
    with pytest.raises(StorageError):
        run(store.store_rows(shards, rows))
    assert all(r["last_seen"] is None for r in table(main, "devices", "device_id"))
    one.failing = False
    run(store.store_rows(shards, rows))  # the webhook's retry (EMQX after the 503)
    assert run(store.row_count(shards)) == len(DEVICES)
    assert {r["last_seen"] for r in table(main, "devices", "device_id")} == {iso_ms(T0 + 7)}


class Gate:
    """Lets a read finish only once `expected` reads (of any gate sharing `arrived` and
    `all_in`) are in flight at the same time."""

    def __init__(self, db: SqliteDatabase, arrived: list[int], all_in: asyncio.Event) -> None:
        self.db, self.arrived, self.all_in = db, arrived, all_in

    async def first(self, sql: str, *params: Any) -> dict[str, Any] | None:
        self.arrived[0] -= 1
        if self.arrived[0] == 0:
            self.all_in.set()
        await self.all_in.wait()
        return await self.db.first(sql, *params)


def test_fleet_counts_fan_in_over_every_shard_at_once() -> None:
    main, other, shards = two_shards()
    run(store.store_rows(shards, [raw(d, f"m-{n}") for d in DEVICES for n in range(3)]))
    per_shard = [run(store.shard_row_count(db)) for db in shards.databases]
    assert per_shard == [3 * len(ON[0]), 3 * len(ON[1])]

    async def count() -> int:  # a sequential fan-in would never let the first read finish
        waiting, all_in = [2], asyncio.Event()
        gates = [Gate(main, waiting, all_in), Gate(other, waiting, all_in)]
        return await asyncio.wait_for(store.row_count(Shards(gates)), 2)  # type: ignore[arg-type]

    assert run(count()) == sum(per_shard) == 3 * len(DEVICES)


def test_per_device_reads_go_to_the_devices_shard_only() -> None:
    _, other, shards = two_shards()
    a, b = ON[0][0], ON[1][0]
    run(store.store_rows(shards, [raw(a, f"a-{n}", T0 + n) for n in range(3)]))
    run(store.store_rows(shards, [raw(b, f"b-{n}", T0 + n) for n in range(2)]))
    answer = json.dumps({"request_id": "r-1", "result": {"ok": True}}, separators=(",", ":"))
    diag = RawRow(b, "d-1", "diag", f"opticworks/{b}/telemetry/diag", T0, T0 + 9, answer)
    run(store.store_rows(shards, [diag]))
    # A row of `a` where it does not belong (shard 1) must stay invisible: reads are routed.
    run(other.batch(store.shard_statements([raw(a, "stray", T0 + 1)])))
    page = run(store.raw_page(shards, a, T0, T0 + HOUR_MS, (-1, ""), 10))
    assert [r["message_id"] for r in page] == ["a-0", "a-1", "a-2"]
    page = run(store.raw_page(shards, b, T0, T0 + HOUR_MS, (-1, ""), 10))
    assert [r["message_id"] for r in page] == ["b-0", "b-1", "d-1"]
    assert run(store.diag_answer(shards, b, "r-1"))["received_at"] == T0 + 9  # type: ignore[index]
    assert run(store.diag_answer(shards, a, "r-1")) is None


keys = st.tuples(
    st.sampled_from(DEVICES[:6]),
    st.text("abz09-_é", min_size=1, max_size=6),
    st.sampled_from([0, 0, 0, 1]),  # the hour: mostly the one paged
)


@settings(max_examples=60, deadline=None)
@given(st.lists(keys, max_size=40), st.integers(1, 12))
def test_paging_an_hour_across_shards_yields_each_row_once_in_key_order(
    found: list[tuple[str, str, int]], page_size: int
) -> None:
    _, _, shards = two_shards()
    rows = [raw(d, m, T0 + h * HOUR_MS + i) for i, (d, m, h) in enumerate(found)]
    run(store.store_rows(shards, rows))
    want = sorted({(r.device_id, r.message_id) for r in rows if r.hour == HOUR})
    seen: list[tuple[str, str]] = []
    after = ("", "")
    while True:
        page = run(store.fleet_hour_page(shards, HOUR, after, page_size))
        assert len(page) <= page_size
        seen += [(r.device_id, r.message_id) for r in page]
        if len(page) < page_size:
            break
        after = (page[-1].device_id, page[-1].message_id)  # the cursor: the last key
    assert seen == want  # each row exactly once, in (device_id, message_id) order
    every = run(store.fleet_hour_rows(shards, HOUR, page_size))
    assert [(r.device_id, r.message_id) for r in every] == want


def fleet_rows(per_device: int) -> list[RawRow]:
    """Each device's messages over three hours, alternating kinds."""
    out = []
    step = 3 * HOUR_MS // per_device
    for n in range(per_device):
        for i, d in enumerate(DEVICES):
            at = T0 + n * step + i
            if n % 3 == 0:
                out.append(raw(d, f"t-{n}", at, kind="targets", targets=[{"id": 1}] * (n % 4)))
            else:
                out.append(raw(d, f"h-{n}", at, free_heap=100_000 - n))
    return out


def sharded_services(main, other) -> Services:
    return Services(
        Settings(telemetry_shards=2),
        main,
        {"RS1_RATE_LIMITS": MemoryKv()},
        {"ARCHIVES": MemoryBlobs()},
        telemetry_dbs={1: other},
    )


def archived_lines(blobs: MemoryBlobs, key: str) -> list[tuple[str, str]]:
    lines = gzip.decompress(blobs.objects[key][0]).decode().splitlines()
    return [(r["device_id"], r["message_id"]) for r in map(json.loads, lines)]


def test_the_hourly_job_rolls_up_and_archives_each_shard_on_its_own() -> None:
    main, other, shards = two_shards()
    svc = sharded_services(main, other)
    rows = fleet_rows(12)
    run(store.store_rows(shards, rows))
    report = run(run_hourly(svc, T0 + 4 * HOUR_MS))
    assert (report.archived_hours, report.unverified_hours) == (6, 0)  # 3 hours × 2 shards
    assert report.archived_rows == len(rows) and report.rollups == 3 * len(DEVICES)
    blobs = svc.blobs["ARCHIVES"]
    assert isinstance(blobs, MemoryBlobs)
    hours = [HOUR, HOUR + 1, HOUR + 2]
    expected_keys = {k(h, i, 2) for h in hours for i in (0, 1) for k in (archive_key, manifest_key)}
    assert set(run(blobs.list_keys())) == expected_keys
    assert archive_key(HOUR, 1, 2) == "telemetry/2026/01/05/08.s1-of-2.jsonl.gz"
    for i, db in enumerate(shards.databases):
        for h in hours:
            key = archive_key(h, i, 2)
            mine = sorted(
                (r.device_id, r.message_id) for r in rows if r.hour == h and r.device_id in ON[i]
            )
            assert archived_lines(blobs, key) == mine  # its own rows, in archive order
            manifest = json.loads(blobs.objects[manifest_key(h, i, 2)][0])
            assert (manifest["shard"], manifest["shards"], manifest["object_key"]) == (i, 2, key)
        records = table(db, "telemetry_archives", "hour")
        assert [(r["hour"], r["object_key"], r["verified"]) for r in records] == [
            (h, archive_key(h, i, 2), 1) for h in hours
        ]
        assert devices_in(db, "telemetry_hourly") == set(ON[i])
        assert table(db, "telemetry_dirty", "device_id") == []
    # The same rollups as one unsharded database computes from the same rows.
    single = fresh_db()
    run(store.store_rows(Shards([single]), rows))
    run(run_hourly(Services(Settings(), single, {}, {"ARCHIVES": MemoryBlobs()}), T0 + 4 * HOUR_MS))
    order = "device_id, hour"
    union = sorted(table(main, "telemetry_hourly", order) + table(other, "telemetry_hourly", order),
                   key=lambda r: (r["device_id"], r["hour"]))  # fmt: skip
    assert union == table(single, "telemetry_hourly", order)
    again = run(run_hourly(svc, T0 + 4 * HOUR_MS))
    assert (again.rollups, again.archived_hours) == (0, 0)


def test_retention_runs_per_shard() -> None:
    main, other, shards = two_shards()
    svc = sharded_services(main, other)
    run(store.store_rows(shards, fleet_rows(6)))
    run(run_hourly(svc, T0 + 4 * HOUR_MS))
    report = run(run_hourly(svc, T0 + (7 * 24 + 4) * HOUR_MS))
    assert report.deleted_rows == 6 * len(DEVICES)
    assert run(store.row_count(shards)) == 0


def test_a_failing_shard_does_not_stop_the_others() -> None:
    main, other, shards = two_shards()
    one = Recording(other)
    svc = sharded_services(main, one)
    run(store.store_rows(shards, fleet_rows(6)))
    one.failing = True
    with pytest.raises(StorageError):
        run(run_hourly(svc, T0 + 4 * HOUR_MS))
    keys = run(svc.blobs["ARCHIVES"].list_keys())
    assert keys and all(".s0-of-2." in k for k in keys)  # shard 0 archived all the same
    one.failing = False
    report = run(run_hourly(svc, T0 + 4 * HOUR_MS))  # the next run catches shard 1 up
    assert report.archived_hours == 3 and report.rollups == 3 * len(ON[1])


def test_one_shard_keeps_todays_archive_keys() -> None:
    assert archive_key(HOUR) == archive_key(HOUR, 0, 1) == "telemetry/2026/01/05/08.jsonl.gz"
    assert manifest_key(HOUR) == "telemetry/2026/01/05/08.manifest.json"
    assert re.fullmatch(r"telemetry/2026/01/05/08\.s3-of-4\.jsonl\.gz", archive_key(HOUR, 3, 4))


WEBHOOK = {"x-webhook-secret": "test-webhook-secret", "content-type": "application/json"}


def test_the_webhook_and_the_apis_span_the_shards() -> None:
    """POST /webhook/telemetry, then the device API's telemetry pages and /admin/fleet."""
    main, other, _ = two_shards()
    base = unit_services(main, Clock())
    svc = replace(base, settings=replace(base.settings, telemetry_shards=2),
                  telemetry_dbs={1: other})  # fmt: skip
    batch = [envelope(d, f"{d[:6]}-{n}") for d in DEVICES for n in range(3)]
    request = ApiRequest("POST", "/webhook/telemetry", headers=WEBHOOK,
                         body=json.dumps(batch).encode())  # fmt: skip
    response = run(telemetry.app.handle(request, svc))
    assert response.status == 200 and json.loads(response.body)["accepted"] == len(batch)
    assert devices_in(main, "telemetry_raw") == set(ON[0])
    assert devices_in(other, "telemetry_raw") == set(ON[1])
    sessions = svc.kv["SESSIONS"]
    token, _ = run(
        start_session(sessions, svc.settings.jwt_secret, "ops", "admin", svc.clock(), 600)
    )
    auth = {"authorization": f"Bearer {token}"}

    def get(path: str, **query: str) -> dict:
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        answer = run(device_api.app.handle(ApiRequest("GET", path, qs, headers=auth), svc))
        assert answer.status == 200, answer.body
        return json.loads(answer.body)

    for d in DEVICES:
        first = get(f"/api/devices/{d}/telemetry", **{"from": "0", "to": "9" * 13, "limit": "2"})
        rest = get(f"/api/devices/{d}/telemetry", **{"from": "0", "to": "9" * 13,
                                                     "cursor": first["next_cursor"]})  # fmt: skip
        got = [i["message_id"] for i in first["items"] + rest["items"]]
        assert sorted(got) == [f"{d[:6]}-{n}" for n in range(3)]
    assert get("/admin/fleet")["telemetry_rows"] == len(batch)
