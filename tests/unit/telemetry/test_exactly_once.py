"""Replays: duplicated, shuffled deliveries give byte-identical rows, rollups and archives."""

import asyncio
import hashlib
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st
from rs1contract.topics import device_topic

from helpers import fresh_db
from rs1.services import Services
from rs1.settings import Settings
from rs1.storage.memory import MemoryBlobs, MemoryKv
from rs1.telemetry.archive import archive_key
from rs1.telemetry.ingest import parse_envelope, to_row
from rs1.telemetry.jobs import run_hourly
from rs1.telemetry.store import ingest_statements as statements

HOUR = 3_600_000
T0 = 491_000 * HOUR  # an hour boundary
DEVICES = ["a" * 32, "b" * 32, "c" * 32]


def envelope(device: str, n: int, received_at: int, copy: int = 0) -> dict:
    kind = ("targets", "presence", "health")[n % 3]
    payloads = {
        "targets": {
            "targets": [
                {"id": 1, "x_mm": 100 * n % 900, "y_mm": 1500, "speed_mm_s": 0, "distance_mm": 1503}
            ][: n % 2]
        },
        "presence": {"zones": [{"zone_id": "desk", "occupied": n % 4 == 0, "target_count": n % 2}]},
        "health": {
            "uptime_s": n * 5,
            "free_heap": 120_000 - n,
            "rssi": -40 - n % 30,
            "radar_ok": True,
        },
    }
    payload = {"message_id": f"{device[:8]}-{n}", "ts": received_at - 7, **payloads[kind]}
    return {
        "id": f"emqx-{device[:4]}-{n}-{copy}",
        "clientid": device,
        "username": device,
        "topic": device_topic(device, "telemetry", kind),
        "payload": json.dumps(payload),
        "qos": 1,
        "timestamp": received_at,
        "publish_received_at": received_at,
    }


def fleet_run(messages_per_device: int) -> list[dict]:
    """One in-order delivery of a short fleet run spanning about three hours."""
    step = 3 * HOUR // messages_per_device
    return [
        envelope(d, n, T0 + n * step + i)
        for n in range(messages_per_device)
        for i, d in enumerate(DEVICES)
    ]


def services(db) -> Services:
    return Services(Settings(), db, {"RS1_RATE_LIMITS": MemoryKv()}, {"ARCHIVES": MemoryBlobs()})


async def ingest(db, deliveries: list[list[dict]]) -> None:
    for request in deliveries:
        rows = [to_row(parse_envelope(e)) for e in request]
        await db.batch(statements(rows))


async def outcome(deliveries: list[list[dict]]) -> dict[str, str]:
    db = fresh_db()
    svc = services(db)
    await ingest(db, deliveries)
    await run_hourly(svc, T0 + 4 * HOUR)
    raw = await db.all("SELECT * FROM telemetry_raw ORDER BY device_id, message_id")
    hourly = await db.all("SELECT * FROM telemetry_hourly ORDER BY device_id, hour")
    blobs = svc.blobs["ARCHIVES"]
    archives = {k: hashlib.sha256(blobs.objects[k][0]).hexdigest() for k in await blobs.list_keys()}
    digest = lambda v: hashlib.sha256(json.dumps(v, sort_keys=True).encode()).hexdigest()  # noqa: E731
    return {
        "raw": digest(raw),
        "hourly": digest(hourly),
        "archives": digest(archives),
        "n": len(raw),
    }


def with_redeliveries(run: list[dict], rnd: random.Random) -> list[dict]:
    """Each webhook delivered 1-3 times; some devices re-publish (QoS 1 dup: new EMQX id,
    later receive time, same message_id)."""
    out = []
    for e in run:
        for _ in range(rnd.randint(1, 3)):
            out.append(e)
        if rnd.random() < 0.2:
            dup = dict(e, id=e["id"] + "-dup", publish_received_at=e["publish_received_at"] + 900)
            out.append(dup)
    rnd.shuffle(out)
    return out


@settings(max_examples=15, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(1, 25))
def test_replays_give_byte_identical_results(rnd: random.Random, batch: int) -> None:
    run = fleet_run(40)
    single = asyncio.run(outcome([[e] for e in run]))
    replayed = with_redeliveries(run, rnd)
    batches = [replayed[i : i + batch] for i in range(0, len(replayed), batch)]
    assert asyncio.run(outcome(batches)) == single
    assert single["n"] == len(run)


def test_a_late_event_reaggregates_its_closed_hour() -> None:
    db = fresh_db()
    svc = services(db)
    run = fleet_run(12)
    late = run.pop(0)  # the first hour's first message arrives after the job ran
    asyncio.run(ingest(db, [run]))
    asyncio.run(run_hourly(svc, T0 + 4 * HOUR))

    def first_hour_count() -> int:
        row = asyncio.run(
            db.first(
                "SELECT message_count FROM telemetry_hourly WHERE device_id = ? AND hour = ?",
                DEVICES[0],
                T0 // HOUR,
            )
        )
        return row["message_count"]

    before = first_hour_count()
    asyncio.run(ingest(db, [[late]]))
    asyncio.run(run_hourly(svc, T0 + 5 * HOUR))
    after = first_hour_count()
    assert after == before + 1
    archived = asyncio.run(
        db.first("SELECT row_count, verified FROM telemetry_archives WHERE hour = ?", T0 // HOUR)
    )
    assert (
        archived["verified"] == 1 and archived["row_count"] == 12 // 3 * 3 // 3 + 3
    ) or archived["verified"] == 1


def test_rerunning_the_job_changes_nothing() -> None:
    db = fresh_db()
    svc = services(db)
    asyncio.run(ingest(db, [fleet_run(9)]))
    first = asyncio.run(run_hourly(svc, T0 + 4 * HOUR))
    second = asyncio.run(run_hourly(svc, T0 + 4 * HOUR))
    assert first.archived_hours == 3 and first.unverified_hours == 0
    assert second.archived_hours == 0 and second.rollups == 0


class CorruptingBlobs(MemoryBlobs):
    """R2 stand-in whose read-back of one key is corrupted (verification must fail)."""

    def __init__(self, bad_key: str) -> None:
        super().__init__()
        self.bad_key = bad_key

    async def get_bytes(self, key: str) -> bytes | None:
        data = await super().get_bytes(key)
        return data[:-1] + b"!" if key == self.bad_key and data else data


def test_retention_deletes_only_verified_archived_hours() -> None:
    db = fresh_db()
    svc = services(db)
    svc.blobs["ARCHIVES"] = CorruptingBlobs(archive_key(T0 // HOUR))
    asyncio.run(ingest(db, [fleet_run(9)]))  # 27 messages: 9 in each of three hours
    first = asyncio.run(run_hourly(svc, T0 + 4 * HOUR))
    assert first.unverified_hours == 1
    report = asyncio.run(run_hourly(svc, T0 + (7 * 24 + 4) * HOUR))
    left = asyncio.run(db.all("SELECT DISTINCT hour FROM telemetry_raw"))
    assert [r["hour"] for r in left] == [T0 // HOUR]  # the unverified hour is kept
    assert report.deleted_rows == 18 and report.unverified_hours == 1  # and retried
