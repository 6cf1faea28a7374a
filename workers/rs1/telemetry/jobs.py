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
from rs1.storage.database import Database, Statement
from rs1.telemetry.archive import Archive, archive_key, build_archive, manifest_key, verify_archive
from rs1.telemetry.ingest import HOUR_MS, RawRow
from rs1.telemetry.rollup import rollup

RETENTION_HOURS = 7 * 24
DIRTY_PER_RUN = 2_000
PAGE = 2_000


@dataclass
class JobReport:
    rollups: int = 0
    archived_hours: int = 0
    archived_rows: int = 0
    unverified_hours: int = 0
    deleted_rows: int = 0


async def _hour_rows(db: Database, hour: int) -> list[RawRow]:
    """All raw rows of an hour in archive order, paged by key (D1 results stay small)."""
    rows: list[RawRow] = []
    after = ("", "")
    while True:
        page = await db.all(
            "SELECT device_id, message_id, kind, topic, ts, received_at, payload "
            "FROM telemetry_raw WHERE hour = ? AND (device_id, message_id) > (?, ?) "
            "ORDER BY device_id, message_id LIMIT ?",
            hour,
            *after,
            PAGE,
        )
        rows += [RawRow(**r) for r in page]
        if len(page) < PAGE:
            return rows
        after = (page[-1]["device_id"], page[-1]["message_id"])


def _rollup_statements(hour: int, rows: list[RawRow], devices: Iterable[str]) -> list[Statement]:
    by_device: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        by_device.setdefault(r.device_id, []).append((r.kind, r.payload))
    out = []
    for device_id in sorted(devices):
        items = by_device.get(device_id)
        if not items:
            out.append(
                Statement(
                    "DELETE FROM telemetry_hourly WHERE device_id = ? AND hour = ?",
                    (device_id, hour),
                )
            )
            continue
        out.append(
            Statement(
                "INSERT OR REPLACE INTO telemetry_hourly (device_id, hour, message_count, "
                "max_target_count, occupancy_json, metrics_json) VALUES (?, ?, ?, ?, ?, ?)",
                rollup(device_id, hour, items).row(),
            )
        )
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
    await svc.db.run(
        "INSERT OR REPLACE INTO telemetry_archives (hour, object_key, row_count, sha256, verified) "
        "VALUES (?, ?, ?, ?, ?)",
        archive.hour,
        key,
        archive.row_count,
        archive.sha256,
        int(verified),
    )
    return verified


async def process_hour(svc: Services, hour: int, markers: list[dict]) -> JobReport:
    report = JobReport()
    rows = await _hour_rows(svc.db, hour)
    devices = {m["device_id"] for m in markers}
    statements = _rollup_statements(hour, rows, devices)
    report.rollups = len(statements)
    archive = build_archive(hour, [r.as_record() for r in rows])
    if await _store_archive(svc, archive):
        report.archived_hours, report.archived_rows = 1, archive.row_count
    else:
        # Keep the markers: the next run rolls up and archives this hour again.
        report.unverified_hours = 1
        log_event("error", "archive_unverified", hour=hour, key=archive_key(hour))
        markers = []
    # Markers go only if no newer write bumped their generation meanwhile.
    statements += [
        Statement(
            "DELETE FROM telemetry_dirty WHERE device_id = ? AND hour = ? AND gen = ?",
            (m["device_id"], hour, m["gen"]),
        )
        for m in markers
    ]
    await svc.db.batch(statements)
    return report


async def enforce_retention(db: Database, current_hour: int) -> int:
    result = await db.run(
        "DELETE FROM telemetry_raw WHERE hour < ? "
        "AND hour IN (SELECT hour FROM telemetry_archives WHERE verified = 1) "
        "AND hour NOT IN (SELECT hour FROM telemetry_dirty)",
        current_hour - RETENTION_HOURS,
    )
    return result.changes


async def run_hourly(svc: Services, now_ms: int) -> JobReport:
    current_hour = now_ms // HOUR_MS
    markers = await svc.db.all(
        "SELECT device_id, hour, gen FROM telemetry_dirty WHERE hour < ? "
        "ORDER BY hour, device_id LIMIT ?",
        current_hour,
        DIRTY_PER_RUN,
    )
    unverified = await svc.db.all(
        "SELECT hour FROM telemetry_archives WHERE verified = 0 AND hour < ?", current_hour
    )
    by_hour: dict[int, list[dict]] = {int(r["hour"]): [] for r in unverified}
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
