"""The hourly telemetry job: roll up dirty hours, archive them to R2, enforce retention.

Idempotent: re-running recomputes the same rollups and byte-identical archives. Raw rows
are deleted past retention only for hours whose archive was read back and verified, and
never while a late event keeps the hour dirty.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass

from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.database import Database, Row
from rs1.telemetry import store
from rs1.telemetry.archive import Archive, archive_key, build_archive, manifest_key, verify_archive
from rs1.telemetry.ingest import HOUR_MS, RawRow
from rs1.telemetry.rollup import Rollup, rollup

RETENTION_HOURS = 7 * 24
DIRTY_PER_RUN = 2_000


@dataclass
class JobReport:
    rollups: int = 0
    archived_hours: int = 0
    archived_rows: int = 0
    unverified_hours: int = 0
    deleted_rows: int = 0


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


async def _store_archive(svc: Services, archive: Archive) -> bool:
    blobs = svc.blobs["ARCHIVES"]
    key = archive_key(archive.hour)
    meta = {"sha256": archive.sha256, "row_count": str(archive.row_count)}
    await blobs.put(key, archive.data, "application/gzip", meta)
    readback = await blobs.get_bytes(key)
    verified = readback is not None and verify_archive(readback, archive)
    if verified:
        manifest = json.dumps(archive.manifest(), sort_keys=True, indent=2).encode()
        await blobs.put(manifest_key(archive.hour), manifest, "application/json")
    await store.record_archive(
        svc.db, archive.hour, key, archive.row_count, archive.sha256, verified
    )
    return verified


async def process_hour(svc: Services, hour: int, markers: list[Row]) -> JobReport:
    report = JobReport()
    rows = await store.hour_rows(svc.db, hour)
    rollups = _rollups(hour, rows, {m["device_id"] for m in markers})
    report.rollups = len(rollups)
    archive = build_archive(hour, [r.as_record() for r in rows])
    if await _store_archive(svc, archive):
        report.archived_hours, report.archived_rows = 1, archive.row_count
    else:
        # Keep the markers: the next run rolls up and archives this hour again.
        report.unverified_hours = 1
        log_event("error", "archive_unverified", hour=hour, key=archive_key(hour))
        markers = []
    # Markers go only if no newer write bumped their generation meanwhile.
    await store.save_hour(svc.db, hour, rollups, markers)
    return report


async def enforce_retention(db: Database, current_hour: int) -> int:
    return await store.delete_archived_raw(db, current_hour - RETENTION_HOURS)


async def run_hourly(svc: Services, now_ms: int) -> JobReport:
    current_hour = now_ms // HOUR_MS
    markers = await store.dirty_markers(svc.db, current_hour, DIRTY_PER_RUN)
    unverified = await store.unverified_hours(svc.db, current_hour)
    by_hour: dict[int, list[Row]] = {hour: [] for hour in unverified}
    for m in markers:
        by_hour.setdefault(int(m["hour"]), []).append(m)
    total = JobReport()
    for hour, hour_markers in sorted(by_hour.items()):
        part = await process_hour(svc, hour, hour_markers)
        total.rollups += part.rollups
        total.archived_hours += part.archived_hours
        total.archived_rows += part.archived_rows
        total.unverified_hours += part.unverified_hours
    total.deleted_rows = await enforce_retention(svc.db, current_hour)
    log_event("info", "telemetry_hourly", **total.__dict__)
    return total
