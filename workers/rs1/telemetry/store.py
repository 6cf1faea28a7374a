"""SQL for telemetry: raw rows, dirty-hour markers, hourly rollups and archive records.

The only module that writes telemetry_raw, telemetry_dirty, telemetry_hourly and
telemetry_archives. Exactly-once lives in the statements themselves: a raw row is keyed by
(device_id, message_id) and a redelivery keeps the earliest (received_at, payload), so any
delivery order converges on the same rows; a marker is cleared only at the generation the
job read, so a write that raced the job keeps its hour dirty.
"""

from collections.abc import Sequence
from typing import TypeVar

from rs1.devices.store import advance_last_seen
from rs1.storage.database import Database, Row, Statement
from rs1.telemetry.ingest import RawRow
from rs1.telemetry.rollup import Rollup
from rs1.timefmt import iso_ms

ROWS_PER_INSERT = 12  # 8 params a row: D1 binds at most 100 per statement
PAIRS_PER_STATEMENT = 50  # 2 params a pair
HOUR_PAGE = 2_000  # rows per read of an hour: D1 results stay small

T = TypeVar("T")


def insert_raw(rows: Sequence[RawRow]) -> Statement:
    """One multi-row upsert; the earliest (received_at, payload) wins: commutative."""
    values = ",".join("(?, ?, ?, ?, ?, ?, ?, ?)" for _ in rows)
    params = tuple(
        v
        for r in rows
        for v in (
            r.device_id,
            r.message_id,
            r.kind,
            r.topic,
            r.ts,
            r.received_at,
            r.hour,
            r.payload,
        )
    )
    return Statement(
        "INSERT INTO telemetry_raw "
        "(device_id, message_id, kind, topic, ts, received_at, hour, payload) "
        f"VALUES {values} ON CONFLICT (device_id, message_id) DO UPDATE SET "
        "kind = excluded.kind, topic = excluded.topic, ts = excluded.ts, "
        "received_at = excluded.received_at, hour = excluded.hour, payload = excluded.payload "
        "WHERE (excluded.received_at, excluded.payload) < "
        "(telemetry_raw.received_at, telemetry_raw.payload)",
        params,
    )


def mark_dirty(pairs: Sequence[tuple[str, int]]) -> Statement:
    """(device_id, hour) pairs whose rollup must be recomputed; a repeat bumps `gen`."""
    values = ",".join("(?, ?)" for _ in pairs)
    return Statement(
        f"INSERT INTO telemetry_dirty (device_id, hour) VALUES {values} "
        "ON CONFLICT (device_id, hour) DO UPDATE SET gen = gen + 1",
        tuple(v for pair in pairs for v in pair),
    )


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def ingest_statements(rows: Sequence[RawRow]) -> list[Statement]:
    """Raw inserts, dirty markers per (device, hour), last_seen per device: a few multi-row
    statements for one D1 batch (statement count, not row count, is what costs)."""
    dirty = sorted({(r.device_id, r.hour) for r in rows})
    newest: dict[str, int] = {}
    for r in rows:
        newest[r.device_id] = max(newest.get(r.device_id, 0), r.received_at)
    seen = [(device_id, iso_ms(at)) for device_id, at in sorted(newest.items())]
    return (
        [insert_raw(chunk) for chunk in _chunks(rows, ROWS_PER_INSERT)]
        + [mark_dirty(chunk) for chunk in _chunks(dirty, PAIRS_PER_STATEMENT)]
        + [advance_last_seen(chunk) for chunk in _chunks(seen, PAIRS_PER_STATEMENT)]
    )


async def store_rows(db: Database, rows: Sequence[RawRow]) -> None:
    """Store validated rows exactly once, all or nothing (one D1 batch)."""
    await db.batch(ingest_statements(rows))


async def hour_rows(db: Database, hour: int, page: int = HOUR_PAGE) -> list[RawRow]:
    """All raw rows of an hour in archive order (device_id, message_id), paged by key."""
    rows: list[RawRow] = []
    after = ("", "")
    while True:
        found = await db.all(
            "SELECT device_id, message_id, kind, topic, ts, received_at, payload "
            "FROM telemetry_raw WHERE hour = ? AND (device_id, message_id) > (?, ?) "
            "ORDER BY device_id, message_id LIMIT ?",
            hour,
            *after,
            page,
        )
        rows += [RawRow(**r) for r in found]
        if len(found) < page:
            return rows
        after = (found[-1]["device_id"], found[-1]["message_id"])


async def raw_page(
    db: Database, device_id: str, start: int, end: int, after: tuple[int, str], limit: int
) -> list[Row]:
    """A device's raw rows received in [start, end) after (received_at, message_id)."""
    return await db.all(
        "SELECT message_id, kind, topic, ts, received_at, payload FROM telemetry_raw "
        "WHERE device_id = ? AND received_at >= ? AND received_at < ? "
        "AND (received_at, message_id) > (?, ?) ORDER BY received_at, message_id LIMIT ?",
        device_id,
        start,
        end,
        *after,
        limit,
    )


async def hourly_page(
    db: Database, device_id: str, first_hour: int, end_hour: int, after_hour: int, limit: int
) -> list[Row]:
    """A device's rollups for hours in [first_hour, end_hour) after `after_hour`."""
    return await db.all(
        "SELECT hour, message_count, max_target_count, occupancy_json, metrics_json "
        "FROM telemetry_hourly WHERE device_id = ? AND hour >= ? AND hour < ? AND hour > ? "
        "ORDER BY hour LIMIT ?",
        device_id,
        first_hour,
        end_hour,
        after_hour,
        limit,
    )


async def dirty_markers(db: Database, before_hour: int, limit: int) -> list[Row]:
    """(device_id, hour, gen) markers of closed hours, oldest first."""
    return await db.all(
        "SELECT device_id, hour, gen FROM telemetry_dirty WHERE hour < ? "
        "ORDER BY hour, device_id LIMIT ?",
        before_hour,
        limit,
    )


async def unverified_hours(db: Database, before_hour: int) -> list[int]:
    """Closed hours whose archive was written but not read back intact."""
    rows = await db.all(
        "SELECT hour FROM telemetry_archives WHERE verified = 0 AND hour < ?", before_hour
    )
    return [int(r["hour"]) for r in rows]


def put_rollup(rollup: Rollup) -> Statement:
    return Statement(
        "INSERT OR REPLACE INTO telemetry_hourly (device_id, hour, message_count, "
        "max_target_count, occupancy_json, metrics_json) VALUES (?, ?, ?, ?, ?, ?)",
        rollup.row(),
    )


def delete_rollup(device_id: str, hour: int) -> Statement:
    return Statement(
        "DELETE FROM telemetry_hourly WHERE device_id = ? AND hour = ?", (device_id, hour)
    )


def clear_dirty(device_id: str, hour: int, gen: int) -> Statement:
    """Only at the generation read: a newer write keeps the hour dirty."""
    return Statement(
        "DELETE FROM telemetry_dirty WHERE device_id = ? AND hour = ? AND gen = ?",
        (device_id, hour, gen),
    )


async def save_hour(
    db: Database,
    hour: int,
    rollups: Sequence[tuple[str, Rollup | None]],
    cleared: Sequence[Row],
) -> None:
    """One transaction: each device's rollup (None: it has no rows left that hour) and the
    clearing of the markers (device_id, gen) that were processed."""
    statements = [
        put_rollup(r) if r is not None else delete_rollup(device_id, hour)
        for device_id, r in rollups
    ]
    statements += [clear_dirty(m["device_id"], hour, m["gen"]) for m in cleared]
    await db.batch(statements)


async def record_archive(
    db: Database, hour: int, object_key: str, row_count: int, sha256: str, verified: bool
) -> None:
    await db.run(
        "INSERT OR REPLACE INTO telemetry_archives (hour, object_key, row_count, sha256, verified) "
        "VALUES (?, ?, ?, ?, ?)",
        hour,
        object_key,
        row_count,
        sha256,
        int(verified),
    )


async def delete_archived_raw(db: Database, before_hour: int) -> int:
    """Raw rows of hours before `before_hour` whose archive is verified and that no marker
    keeps dirty; how many went."""
    result = await db.run(
        "DELETE FROM telemetry_raw WHERE hour < ? "
        "AND hour IN (SELECT hour FROM telemetry_archives WHERE verified = 1) "
        "AND hour NOT IN (SELECT hour FROM telemetry_dirty)",
        before_hour,
    )
    return result.changes


async def row_count(db: Database) -> int:
    row = await db.first("SELECT COUNT(*) AS n FROM telemetry_raw")
    return int(row["n"]) if row else 0


async def diag_answer(db: Database, device_id: str, request_id: str) -> Row | None:
    """The device's first telemetry/diag message answering `request_id`, if any."""
    return await db.first(
        "SELECT payload, received_at FROM telemetry_raw WHERE device_id = ? AND kind = 'diag' "
        "AND json_extract(payload, '$.request_id') = ? ORDER BY received_at LIMIT 1",
        device_id,
        request_id,
    )
