"""SQL for uploaded firmware releases (the `firmware` table): one row per (model, version).

The row is the release: its sha256 names the artifact in R2 FIRMWARE (object_key), and racing
uploads of one version are settled by the primary key, never by a read made earlier.
"""

import json

from rs1.storage.database import Database, Row


async def get(db: Database, model: str, version: str) -> Row | None:
    """The whole release row (a rollout copies its size, sha256 and signature)."""
    return await db.first("SELECT * FROM firmware WHERE model = ? AND version = ?", model, version)


async def artifact(db: Database, model: str, version: str) -> Row | None:
    """What a download needs: size, sha256, object_key."""
    return await db.first(
        "SELECT size, sha256, object_key FROM firmware WHERE model = ? AND version = ?",
        model,
        version,
    )


async def sha256_of(db: Database, model: str, version: str) -> str | None:
    row = await db.first(
        "SELECT sha256 FROM firmware WHERE model = ? AND version = ?", model, version
    )
    return None if row is None else str(row["sha256"])


async def min_version(db: Database, model: str, version: str) -> str | None:
    """The oldest installed version this release may be installed over (None: any)."""
    row = await db.first(
        "SELECT min_version FROM firmware WHERE model = ? AND version = ?", model, version
    )
    return None if row is None else row["min_version"]


async def insert(
    db: Database,
    *,
    model: str,
    version: str,
    size: int,
    sha256: str,
    signature: str,
    min_version: str | None,
    security_version: int,
    object_key: str,
    created_at: str,
) -> bool:
    """Store the release unless the version exists; True if this call stored it."""
    result = await db.run(
        "INSERT INTO firmware (model, version, size, sha256, signature, min_version, "
        "security_version, object_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (model, version) DO NOTHING",
        model, version, size, sha256, signature, min_version, security_version, object_key,
        created_at,
    )  # fmt: skip
    return result.changes > 0


async def list_all(db: Database) -> list[Row]:
    """Every release (without its signature or object key), newest first per model."""
    return await db.all(
        "SELECT model, version, size, sha256, min_version, security_version, created_at "
        "FROM firmware "
        "ORDER BY model, created_at DESC"
    )


async def security_versions(db: Database, model: str, versions: list[str]) -> dict[str, int]:
    """The security version of each of these releases that is known (uploaded)."""
    if not versions:
        return {}
    rows = await db.all(
        "SELECT version, security_version FROM firmware WHERE model = ? "
        "AND version IN (SELECT value FROM json_each(?))",
        model,
        json.dumps(sorted(set(versions))),
    )
    return {str(r["version"]): int(r["security_version"]) for r in rows}
