"""Versioned zone configs and their delivery to devices (config/update over EMQX).

desired = the newest zone_configs version; applied = devices.config_version (set by the
device's config/status ack). A device offline at PUT time gets the desired config when it
reconnects. The SQL is in rs1.zones.store.
"""

import json
from typing import Any

from rs1contract.topics import device_topic

from rs1.emqx import Message, emqx_api
from rs1.logs import log_event
from rs1.services import Services
from rs1.storage.database import Database
from rs1.timefmt import utc_now_iso
from rs1.zones import store

KEEP_VERSIONS = 10  # spec: zone configs keep 10 versions


async def write(
    db: Database, device_id: str, expected: int, config: dict[str, Any], user: str
) -> int | None:
    """Store version expected+1 if the newest is still `expected` (else None: a conflict)."""
    config_json = json.dumps(config, sort_keys=True)
    stored = await store.insert_next(
        db, device_id, expected, config_json, utc_now_iso(), user, KEEP_VERSIONS
    )
    return expected + 1 if stored else None


async def push(svc: Services, device_id: str) -> bool:
    """Send the desired config if the device has not applied it; True if delivered."""
    row = await store.pending_config(svc.db, device_id)
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
    db: Database, device_id: str, number: int, applied: bool, error: str | None, at_ms: int
) -> bool:
    """A device's config/status: applied versions only move forward; rejections are kept."""
    if applied:
        return await store.mark_applied(db, device_id, number, at_ms)
    return await store.mark_rejected(db, device_id, number, (error or "")[:512], at_ms)
