"""SQL for zone configs: the versioned zone_configs rows and the devices' sync state.

The only module with SQL for zone_configs. A write names the version it replaces and is
refused in the same statement if another write got there first (no read-then-write race).
The device's applied and rejected versions live on the devices row (migration 0006); the
statements touching them are here because each is conditioned on zone_configs.
"""

import time

from rs1.outbox.store import NewEvent, run_with_events
from rs1.storage.database import Database, Row, Statement


async def latest(db: Database, device_id: str) -> Row | None:
    """The desired config: the newest version (version, config_json, updated_at/by)."""
    return await db.first(
        "SELECT version, config_json, updated_at, updated_by FROM zone_configs "
        "WHERE device_id = ? ORDER BY version DESC LIMIT 1",
        device_id,
    )


async def versions(db: Database, device_id: str) -> list[Row]:
    """The kept versions, newest first (version, updated_at, updated_by)."""
    return await db.all(
        "SELECT version, updated_at, updated_by FROM zone_configs WHERE device_id = ? "
        "ORDER BY version DESC",
        device_id,
    )


async def version(db: Database, device_id: str, number: int) -> Row | None:
    return await db.first(
        "SELECT version, config_json FROM zone_configs WHERE device_id = ? AND version = ?",
        device_id,
        number,
    )


def _insert_next(
    device_id: str, expected: int, config_json: str, updated_at: str, updated_by: str
) -> Statement:
    """Version expected+1, only while the newest is still `expected` (0: none yet)."""
    return Statement(
        "INSERT INTO zone_configs (device_id, version, config_json, updated_at, "
        "updated_by) SELECT ?, ?, ?, ?, ? WHERE (SELECT COALESCE(MAX(version), 0) "
        "FROM zone_configs WHERE device_id = ?) = ? RETURNING version",
        (device_id, expected + 1, config_json, updated_at, updated_by, device_id, expected),
    )


def _prune(device_id: str, keep: int) -> Statement:
    return Statement(
        "DELETE FROM zone_configs WHERE device_id = ? AND version <= "
        "(SELECT MAX(version) FROM zone_configs WHERE device_id = ?) - ?",
        (device_id, device_id, keep),
    )


async def insert_next(
    db: Database,
    device_id: str,
    expected: int,
    config_json: str,
    updated_at: str,
    updated_by: str,
    keep: int,
) -> bool:
    """Store version expected+1 and keep only the newest `keep`, in one transaction; False
    (nothing stored) if the newest version is no longer `expected`."""
    insert = _insert_next(device_id, expected, config_json, updated_at, updated_by)
    results = await db.batch([insert, _prune(device_id, keep)])
    return bool(results[0])


async def pending_config(db: Database, device_id: str) -> Row | None:
    """The device's applied version (config_version) beside the newest config (version,
    config_json); None if the device is unknown or has no config."""
    return await db.first(
        "SELECT d.config_version, z.version, z.config_json FROM devices d JOIN zone_configs z "
        "ON z.device_id = d.device_id WHERE d.device_id = ? ORDER BY z.version DESC LIMIT 1",
        device_id,
    )


def _now_ms(at_ms: int | None) -> int:
    return int(time.time() * 1000) if at_ms is None else at_ms


async def mark_applied(db: Database, device_id: str, number: int, at_ms: int | None = None) -> bool:
    """Forward only, and only to a version that exists; True if it moved."""
    change = Statement(
        "UPDATE devices SET config_version = ? WHERE device_id = ? AND config_version < ? "
        "AND ? <= (SELECT COALESCE(MAX(version), 0) FROM zone_configs WHERE device_id = ?)",
        (number, device_id, number, number, device_id),
    )
    event = applied_event(device_id, number, _now_ms(at_ms))
    return await run_with_events(db, change, [event]) > 0


async def mark_rejected(
    db: Database, device_id: str, number: int, error: str, at_ms: int | None = None
) -> bool:
    """The newest rejection is kept (a repeat of it too); True if recorded."""
    change = Statement(
        "UPDATE devices SET config_rejected_version = ?, config_rejected_error = ? "
        "WHERE device_id = ? AND COALESCE(config_rejected_version, -1) <= ?",
        (number, error, device_id, number),
    )
    event = rejected_event(device_id, number, error, _now_ms(at_ms))
    return await run_with_events(db, change, [event]) > 0


async def last_rejection(db: Database, device_id: str) -> Row | None:
    """(config_rejected_version, config_rejected_error) of the device; None if unknown."""
    return await db.first(
        "SELECT config_rejected_version, config_rejected_error FROM devices WHERE device_id = ?",
        device_id,
    )


# --- the outbound events its changes emit (rs1.outbox) ---

_DEVICE_ROW = "EXISTS (SELECT 1 FROM devices WHERE device_id = ?"


def applied_event(device_id: str, version: int, at_ms: int) -> NewEvent:
    when = f"{_DEVICE_ROW} AND config_version >= ?)"
    data = {"device_id": device_id, "version": version}
    return NewEvent(
        "zone.applied", f"{device_id}:{version}", data, at_ms, when, (device_id, version)
    )


def rejected_event(device_id: str, version: int, error: str, at_ms: int) -> NewEvent:
    when = f"{_DEVICE_ROW} AND config_rejected_version = ? AND config_rejected_error = ?)"
    data = {"device_id": device_id, "version": version, "error": error}
    key = f"{device_id}:{version}:{error}"
    return NewEvent("zone.rejected", key, data, at_ms, when, (device_id, version, error))
