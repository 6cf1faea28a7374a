"""SQL of device_tags: admin-set key=value tags (one row per device and key)."""

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
    statements = [
        Statement(
            "INSERT INTO device_tags (device_id, key, value) VALUES (?, ?, ?) "
            "ON CONFLICT (device_id, key) DO UPDATE SET value = excluded.value",
            (device_id, key, value),
        )
        for key, value in put.items()
    ]
    statements += [
        Statement("DELETE FROM device_tags WHERE device_id = ? AND key = ?", (device_id, key))
        for key in remove
    ]
    if statements:
        await db.batch(statements)
