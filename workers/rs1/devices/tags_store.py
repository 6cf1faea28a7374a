"""SQL of device_tags: key=value tags, one row per device and key, set by an admin or
reported by the device in `state` (source). An admin's tag wins over the device's report of
the same key; a device's report replaces only what the device reported before."""

import json
from collections.abc import Mapping, Sequence

from rs1.storage.database import Database, Statement


async def tags_of(db: Database, device_id: str) -> dict[str, str]:
    rows = await db.all(
        "SELECT key, value FROM device_tags WHERE device_id = ? ORDER BY key", device_id
    )
    return {r["key"]: r["value"] for r in rows}


async def change(
    db: Database, device_id: str, put: Mapping[str, str], remove: Sequence[str]
) -> None:
    """Set and remove in one transaction; only for an enrolled device (the foreign key)."""
    await change_many(db, [device_id], put, remove)


def reported(device_id: str, tags: Mapping[str, str]) -> list[Statement]:
    """A device's reported tags, for the batch of its `state`: its earlier reports of other
    keys go, admin-set keys stay as the admin set them. Every `state` (connect, heartbeat)
    carries the tags; one that repeats them writes no row."""
    keys = json.dumps(sorted(tags))
    statements = [
        Statement(
            "DELETE FROM device_tags WHERE device_id = ? AND source = 'device' "
            "AND key NOT IN (SELECT value FROM json_each(?))",
            (device_id, keys),
        )
    ]
    statements += [
        Statement(
            "INSERT INTO device_tags (device_id, key, value, source) VALUES (?, ?, ?, 'device') "
            "ON CONFLICT (device_id, key) DO UPDATE SET value = excluded.value "
            "WHERE device_tags.source = 'device' AND device_tags.value <> excluded.value",
            (device_id, key, value),
        )
        for key, value in sorted(tags.items())
    ]
    return statements


async def change_many(
    db: Database, device_ids: Sequence[str], put: Mapping[str, str], remove: Sequence[str]
) -> None:
    """change() for many devices in one transaction: a statement per key, the ids as one
    JSON parameter (D1 binds at most 100 parameters a statement)."""
    ids = json.dumps(list(device_ids))
    statements = [
        Statement(
            "INSERT INTO device_tags (device_id, key, value, source) SELECT value, ?, ?, "
            "'admin' FROM json_each(?) WHERE true ON CONFLICT (device_id, key) DO UPDATE "
            "SET value = excluded.value, source = 'admin'",
            (key, value, ids),
        )
        for key, value in put.items()
    ]
    statements += [
        Statement(
            "DELETE FROM device_tags WHERE key = ? AND device_id IN "
            "(SELECT value FROM json_each(?))",
            (key, ids),
        )
        for key in remove
    ]
    if statements:
        await db.batch(statements)
