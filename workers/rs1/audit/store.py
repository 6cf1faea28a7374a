"""SQL of the audit trail (audit_log, audit_exports): appends and reads, never updates."""

import json
from typing import Any

from rs1.storage.database import Database, Row, Statement

RECORDED = "EXISTS (SELECT 1 FROM audit_log WHERE audit_id = ?)"  # a condition: it went in
# What the write just before it changed (SQLite keeps both until the next write).
CHANGES_PROBE = Statement("SELECT changes() AS changes, last_insert_rowid() AS last_row_id")

COLUMNS = (
    "audit_id, at, actor_type, actor_id, action, target_type, target_id, request_id, "
    "client_ip, summary"
)


def insert(record: dict[str, Any], condition: str) -> Statement:
    """Append the record if `condition` (SQL) holds; RETURNING says whether it did."""
    values = [record[c.strip()] for c in COLUMNS.split(",")]
    values[-1] = json.dumps(values[-1], sort_keys=True, separators=(",", ":"), default=str)
    marks = ", ".join("?" for _ in values)
    return Statement(
        f"INSERT INTO audit_log ({COLUMNS}) SELECT {marks} WHERE {condition} RETURNING seq",
        tuple(values),
    )


def public(row: Row) -> dict[str, Any]:
    """A stored record as the API and the export show it."""
    return {
        "seq": row["seq"],
        "audit_id": row["audit_id"],
        "at": row["at"],
        "actor": {"type": row["actor_type"], "id": row["actor_id"]},
        "action": row["action"],
        "target": {"type": row["target_type"], "id": row["target_id"]},
        "request_id": row["request_id"],
        "client_ip": row["client_ip"],
        "summary": json.loads(row["summary"]),
    }


_FILTERS = {
    "actor": "actor_id = ?",
    "target": "target_id = ?",
    "action": "action = ?",
    "since": "at >= ?",
    "until": "at < ?",
}


async def search(
    db: Database, filters: dict[str, str], after_seq: int | None, limit: int
) -> list[Row]:
    """Records matching every given filter, newest first, below `after_seq` (the cursor)."""
    where = [_FILTERS[name] for name in _FILTERS if filters.get(name)]
    params: list[Any] = [filters[name] for name in _FILTERS if filters.get(name)]
    if after_seq is not None:
        where.append("seq < ?")
        params.append(after_seq)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    sql = f"SELECT seq, {COLUMNS} FROM audit_log {clause} ORDER BY seq DESC LIMIT ?"
    return await db.all(sql, *params, limit)


async def last_export(db: Database) -> Row | None:
    return await db.first("SELECT * FROM audit_exports ORDER BY day DESC LIMIT 1")


async def exports(db: Database) -> list[Row]:
    return await db.all("SELECT * FROM audit_exports ORDER BY day")


async def export_of(db: Database, day: str) -> Row | None:
    return await db.first("SELECT * FROM audit_exports WHERE day = ?", day)


async def first_record(db: Database) -> Row | None:
    return await db.first("SELECT seq, at FROM audit_log ORDER BY seq LIMIT 1")


async def last_seq_before(db: Database, at: str) -> int | None:
    row = await db.first("SELECT MAX(seq) AS seq FROM audit_log WHERE at < ?", at)
    return None if row is None or row["seq"] is None else int(row["seq"])


async def records_between(db: Database, after_seq: int, upto_seq: int, limit: int) -> list[Row]:
    return await db.all(
        f"SELECT seq, {COLUMNS} FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        after_seq,
        upto_seq,
        limit,
    )


async def add_export(db: Database, row: dict[str, Any]) -> bool:
    """Record a day's export; False if another run recorded it first (same content)."""
    result = await db.run(
        "INSERT OR IGNORE INTO audit_exports (day, prev_hash, last_hash, count, first_seq, "
        "last_seq, object_key, exported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        row["day"], row["prev_hash"], row["last_hash"], row["count"], row["first_seq"],
        row["last_seq"], row["object_key"], row["exported_at"],
    )  # fmt: skip
    return result.changes > 0
