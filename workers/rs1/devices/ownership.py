"""Who may see a device (device_ownership): one owner at most, any number of viewers.

"At most one owner" is a database rule (a partial unique index, migration 0007), so racing
claims cannot both win, whatever code path they come through.
"""

from rs1.storage.database import Database, StorageError


class AlreadyClaimed(Exception):
    """Another user owns the device."""


async def claim(db: Database, device_id: str, user_id: str) -> bool:
    """Make `user_id` the owner: True if they became it now, False if they already were.
    Raises AlreadyClaimed when someone else owns it (also when they won a race a moment ago)."""
    try:
        result = await db.run(
            "INSERT INTO device_ownership (device_id, user_id, role) VALUES (?, ?, 'owner') "
            "ON CONFLICT (device_id, user_id) DO UPDATE SET role = 'owner' WHERE role <> 'owner'",
            device_id,
            user_id,
        )
    except StorageError as exc:
        if exc.is_unique_violation:
            raise AlreadyClaimed(device_id) from None
        raise
    return result.changes == 1


async def role_of(db: Database, device_id: str, user_id: str) -> str | None:
    row = await db.first(
        "SELECT role FROM device_ownership WHERE device_id = ? AND user_id = ?",
        device_id,
        user_id,
    )
    return None if row is None else str(row["role"])


async def share(db: Database, device_id: str, user_id: str) -> None:
    """A viewer, idempotently: a user who already has a role keeps it."""
    await db.run(
        "INSERT INTO device_ownership (device_id, user_id, role) VALUES (?, ?, 'viewer') "
        "ON CONFLICT (device_id, user_id) DO NOTHING",
        device_id,
        user_id,
    )


async def unshare(db: Database, device_id: str, user_id: str) -> None:
    """Viewers only: an owner is never removed by unsharing."""
    await db.run(
        "DELETE FROM device_ownership WHERE device_id = ? AND user_id = ? AND role = 'viewer'",
        device_id,
        user_id,
    )
