"""SQL of api_keys."""

import json
from collections.abc import Sequence

from rs1.storage.database import Database, Row

_PUBLIC = (
    "key_id, name, scopes, role, sub, created_by, created_at, expires_at, last_used_at, uses, "
    "revoked_at"
)


async def insert(
    db: Database,
    key_id: str,
    name: str,
    secret_hash: str,
    scopes: Sequence[str],
    role: str,
    sub: str,
    created_by: str,
    created_at: str,
    expires_at: str | None,
) -> None:
    await db.run(
        "INSERT INTO api_keys (key_id, name, secret_hash, scopes, role, sub, created_by, "
        "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        key_id, name, secret_hash, json.dumps(sorted(scopes)), role, sub, created_by,
        created_at, expires_at,
    )  # fmt: skip


async def for_auth(db: Database, key_id: str) -> Row | None:
    return await db.first(
        "SELECT key_id, secret_hash, scopes, role, sub, expires_at, revoked_at "
        "FROM api_keys WHERE key_id = ?",
        key_id,
    )


async def get(db: Database, key_id: str) -> Row | None:
    return await db.first(f"SELECT {_PUBLIC} FROM api_keys WHERE key_id = ?", key_id)


async def list_all(db: Database) -> list[Row]:
    return await db.all(f"SELECT {_PUBLIC} FROM api_keys ORDER BY created_at DESC, key_id")


async def revoke(db: Database, key_id: str, at: str) -> bool:
    """False if already revoked (the first revocation's time stands)."""
    result = await db.run(
        "UPDATE api_keys SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL", at, key_id
    )
    return result.changes > 0


async def mark_used(db: Database, key_id: str, at: str, uses: int) -> None:
    await db.run(
        "UPDATE api_keys SET last_used_at = MAX(COALESCE(last_used_at, ''), ?), "
        "uses = uses + ? WHERE key_id = ?",
        at,
        uses,
        key_id,
    )
