"""Versioned zone configs in D1 and their delivery to devices (config/update over EMQX).

desired = the newest zone_configs version; applied = devices.config_version (set by the
device's config/status ack). A device offline at PUT time gets the desired config when it
reconnects.
"""

import json
from typing import Any

from rs1.emqx import Message, emqx_api
from rs1.logs import log_event
from rs1.mqtt.topics import device_topic
from rs1.services import Services
from rs1.storage.database import Database, Statement
from rs1.timefmt import utc_now_iso

KEEP_VERSIONS = 10  # spec: zone configs keep 10 versions


async def latest(db: Database, device_id: str) -> dict[str, Any] | None:
    return await db.first(
        "SELECT version, config_json, updated_at, updated_by FROM zone_configs "
        "WHERE device_id = ? ORDER BY version DESC LIMIT 1",
        device_id,
    )


async def versions(db: Database, device_id: str) -> list[dict[str, Any]]:
    return await db.all(
        "SELECT version, updated_at, updated_by FROM zone_configs WHERE device_id = ? "
        "ORDER BY version DESC",
        device_id,
    )


async def version(db: Database, device_id: str, number: int) -> dict[str, Any] | None:
    return await db.first(
        "SELECT version, config_json FROM zone_configs WHERE device_id = ? AND version = ?",
        device_id,
        number,
    )


async def write(db: Database, device_id: str, expected: int, config: dict, user: str) -> int | None:
    """Store version expected+1 if the newest is still `expected` (else None: a conflict)."""
    new = expected + 1
    results = await db.batch(
        [
            Statement(
                "INSERT INTO zone_configs (device_id, version, config_json, updated_at, "
                "updated_by) SELECT ?, ?, ?, ?, ? WHERE (SELECT COALESCE(MAX(version), 0) "
                "FROM zone_configs WHERE device_id = ?) = ? RETURNING version",
                (
                    device_id,
                    new,
                    json.dumps(config, sort_keys=True),
                    utc_now_iso(),
                    user,
                    device_id,
                    expected,
                ),
            ),
            Statement(
                "DELETE FROM zone_configs WHERE device_id = ? AND version <= "
                "(SELECT MAX(version) FROM zone_configs WHERE device_id = ?) - ?",
                (device_id, device_id, KEEP_VERSIONS),
            ),
        ]
    )
    return new if results[0] else None


async def push(svc: Services, device_id: str) -> bool:
    """Send the desired config if the device has not applied it; True if delivered."""
    row = await svc.db.first(
        "SELECT d.config_version, z.version, z.config_json FROM devices d JOIN zone_configs z "
        "ON z.device_id = d.device_id WHERE d.device_id = ? ORDER BY z.version DESC LIMIT 1",
        device_id,
    )
    if row is None or int(row["config_version"]) >= int(row["version"]):
        return False
    payload = {"version": int(row["version"]), "config": json.loads(row["config_json"])}
    message = Message(device_topic(device_id, "config", "update"), payload)
    try:
        return await emqx_api(svc).publish(message)
    except Exception as exc:  # noqa: BLE001 — delivered on the next reconnect instead
        log_event("warning", "config_push_failed", device_id=device_id, exception=repr(exc))
        return False


async def acknowledge(
    db: Database, device_id: str, number: int, applied: bool, error: str | None
) -> bool:
    """A device's config/status: applied versions only move forward; rejections are kept."""
    if applied:
        result = await db.run(
            "UPDATE devices SET config_version = ? WHERE device_id = ? AND config_version < ? "
            "AND ? <= (SELECT COALESCE(MAX(version), 0) FROM zone_configs WHERE device_id = ?)",
            number, device_id, number, number, device_id,
        )  # fmt: skip
    else:
        result = await db.run(
            "UPDATE devices SET config_rejected_version = ?, config_rejected_error = ? "
            "WHERE device_id = ? AND COALESCE(config_rejected_version, -1) <= ?",
            number, (error or "")[:512], device_id, number,
        )  # fmt: skip
    return result.changes > 0
