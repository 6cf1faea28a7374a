"""SQL for who may see a device (device_ownership): one owner at most, any number of viewers.

"At most one owner" is a database rule (a partial unique index, migration 0007), so racing
claims cannot both win, whatever code path they come through.
"""

from rs1.devices import store
from rs1.errors import Conflict
from rs1.identity.device_id import is_device_id
from rs1.storage.database import Database, Row, StorageError


class AlreadyClaimed(Conflict):
    """Another user owns the device."""

    code = "already_claimed"

    def __init__(self, device_id: str) -> None:
        super().__init__("This device already has an owner.")
        self.device_id = device_id


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


async def role_for(db: Database, device_id: str, sub: str, caller_role: str) -> str | None:
    """The caller's role on the device: 'admin' (an admin, for any enrolled device), 'owner',
    'viewer' or None (no access, or not a device id at all)."""
    if not is_device_id(device_id):
        return None
    if caller_role == "admin":
        return "admin" if await store.exists(db, device_id) else None
    return await role_of(db, device_id, sub)


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


async def list_for_user(
    db: Database, user_id: str, *, after: str, online: bool | None, limit: int
) -> list[Row]:
    """The user's devices (with their role) after `after` in id order; `online` filters when
    given. `online` comes back as SQLite's 0/1."""
    up = None if online is None else int(online)
    return await db.all(
        "SELECT d.device_id, d.model, d.firmware_version, d.online, d.last_seen, "
        "d.config_version, o.role FROM device_ownership o JOIN devices d ON d.device_id = "
        "o.device_id WHERE o.user_id = ? AND d.device_id > ? AND (? IS NULL OR d.online = ?) "
        "ORDER BY d.device_id LIMIT ?",
        user_id,
        after,
        up,
        up,
        limit,
    )
