"""The hourly telemetry job: roll up dirty hours, archive them to R2, enforce retention.

Idempotent: re-running recomputes the same rollups and byte-identical archives. Raw rows
are deleted past retention only for hours whose archive was read back and verified, and
never while a late event keeps the hour dirty.

Per shard (rs1.storage.shards): each shard's markers, rollups, archive records and retention
are its own, and its archive of an hour holds its rows only (archive_key names the shard
when there are several). Shards run one after another, so the job holds one shard's hour in
memory at a time; a shard that fails is logged and the others still run (the failure is
raised at the end, and the next run retries it).
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields

from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.database import Database, Row
from rs1.telemetry import store
from rs1.telemetry.archive import Archive, build_archive, verify_archive
from rs1.telemetry.ingest import HOUR_MS, RawRow
from rs1.telemetry.rollup import Rollup, rollup

RETENTION_HOURS = 7 * 24
DIRTY_PER_RUN = 2_000  # markers read per shard and run


@dataclass
class JobReport:
    rollups: int = 0
    archived_hours: int = 0  # (shard, hour) archives written and verified
    archived_rows: int = 0
    unverified_hours: int = 0
    deleted_rows: int = 0

    def add(self, other: "JobReport") -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class Shard:
    """Which shard the job works on: its database, its number, how many there are."""

    db: Database
    index: int = 0
    count: int = 1


def _rollups(
    hour: int, rows: list[RawRow], devices: Iterable[str]
) -> list[tuple[str, Rollup | None]]:
    """Each marked device's rollup of the hour; None where it has no rows left."""
    by_device: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        by_device.setdefault(r.device_id, []).append((r.kind, r.payload))
    out: list[tuple[str, Rollup | None]] = []
    for device_id in sorted(devices):
        items = by_device.get(device_id)
        out.append((device_id, rollup(device_id, hour, items) if items else None))
    return out


async def _store_archive(svc: Services, shard: Shard, archive: Archive) -> bool:
    blobs = svc.blobs["ARCHIVES"]
    meta = {"sha256": archive.sha256, "row_count": str(archive.row_count)}
    await blobs.put(archive.key, archive.data, "application/gzip", meta)
    readback = await blobs.get_bytes(archive.key)
    verified = readback is not None and verify_archive(readback, archive)
    if verified:
        manifest = json.dumps(archive.manifest(), sort_keys=True, indent=2).encode()
        await blobs.put(archive.manifest_key, manifest, "application/json")
    await store.record_archive(
        shard.db, archive.hour, archive.key, archive.row_count, archive.sha256, verified
    )
    return verified


async def process_hour(svc: Services, shard: Shard, hour: int, markers: list[Row]) -> JobReport:
    report = JobReport()
    rows = await store.hour_rows(shard.db, hour)
    rollups = _rollups(hour, rows, {m["device_id"] for m in markers})
    report.rollups = len(rollups)
    archive = build_archive(hour, [r.as_record() for r in rows], shard.index, shard.count)
    if await _store_archive(svc, shard, archive):
        report.archived_hours, report.archived_rows = 1, archive.row_count
    else:
        # Keep the markers: the next run rolls up and archives this hour again.
        report.unverified_hours = 1
        log_event("error", "archive_unverified", hour=hour, key=archive.key)
        markers = []
    # Markers go only if no newer write bumped their generation meanwhile.
    await store.save_hour(shard.db, hour, rollups, markers)
    return report


async def enforce_retention(db: Database, current_hour: int) -> int:
    return await store.delete_archived_raw(db, current_hour - RETENTION_HOURS)


async def run_shard(svc: Services, shard: Shard, current_hour: int) -> JobReport:
    """The hourly job on one shard: its dirty and unverified hours, then its retention."""
    markers = await store.dirty_markers(shard.db, current_hour, DIRTY_PER_RUN)
    unverified = await store.unverified_hours(shard.db, current_hour)
    by_hour: dict[int, list[Row]] = {hour: [] for hour in unverified}
    for m in markers:
        by_hour.setdefault(int(m["hour"]), []).append(m)
    total = JobReport()
    for hour, hour_markers in sorted(by_hour.items()):
        total.add(await process_hour(svc, shard, hour, hour_markers))
    total.deleted_rows = await enforce_retention(shard.db, current_hour)
    return total


async def run_hourly(svc: Services, now_ms: int) -> JobReport:
    current_hour = now_ms // HOUR_MS
    shards = svc.telemetry_shards
    total = JobReport()
    failures: list[Exception] = []
    # A run starts at a different shard each hour: one invocation's 1,000-call budget spent on
    # the first shards never starves the same last one.
    count = len(shards)
    for index in [(current_hour + i) % count for i in range(count)]:
        db = shards.databases[index]
        try:
            part = await run_shard(svc, Shard(db, index, len(shards)), current_hour)
        except Exception as exc:  # noqa: BLE001 — one shard's failure must not stall the rest
            log_event("error", "telemetry_hourly_failed", shard=index, exception=repr(exc))
            failures.append(exc)
            continue
        if len(shards) > 1:
            log_event("info", "telemetry_hourly_shard", shard=index, **part.__dict__)
        total.add(part)
    log_event("info", "telemetry_hourly", shards=len(shards), **total.__dict__)
    if failures:
        raise failures[0]
    return total
