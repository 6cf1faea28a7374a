"""SQL for telemetry: raw rows, dirty-hour markers, hourly rollups and archive records.

The only module that writes telemetry_raw, telemetry_dirty, telemetry_hourly and
telemetry_archives. Exactly-once lives in the statements themselves: a raw row is keyed by
(device_id, message_id) and a redelivery keeps the earliest (received_at, payload), so any
delivery order converges on the same rows; a marker is cleared only at the generation the
job read, so a write that raced the job keeps its hour dirty.

Sharding (rs1.storage.shards): the four tables live in N D1 databases, a device's rows all in
the one its id hashes to (shard 0 is DB; N = 1 is the unsharded system). Since a device
never spans shards, every per-device guarantee above holds per shard. Functions here take
either `Shards` and route themselves (ingest, per-device reads, fleet-wide reads, which
fan in over every shard at once) or one shard's `Database` (the hourly job, run per shard).
A fleet-wide read in key order merges the shards by (device_id, message_id): each key is in
one shard only, so the last key returned is a cursor valid in every shard.
"""

import asyncio
import heapq
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from rs1.devices.store import advance_last_seen
from rs1.storage.database import Database, Row, Statement
from rs1.storage.shards import Shards
from rs1.telemetry.ingest import RawRow
from rs1.telemetry.rollup import Rollup
from rs1.timefmt import iso_ms

# Rows travel as ONE JSON parameter read back with json_each: D1 binds at most 100 parameters
# a statement (12 rows of 8), and each bound value is a crossing from Python to JS; one text
# parameter a statement is one crossing. D1 refuses a value over 2,000,000 bytes, and a row's
# JSON can take ~60 KB (a 4,096-character payload of escaped non-ASCII text, escaped again):
# an insert takes at most ROWS_PER_INSERT rows and INSERT_BYTES of row JSON.
ROWS_PER_INSERT = 100
INSERT_BYTES = 1_000_000
PAIRS_PER_STATEMENT = 500
HOUR_PAGE = 2_000  # rows per read of an hour: D1 results stay small

T = TypeVar("T")


def _json(items: Sequence[Sequence[object]]) -> str:
    return json.dumps(items, separators=(",", ":"))


def _row_values(r: RawRow) -> tuple[object, ...]:
    return (r.device_id, r.message_id, r.kind, r.topic, r.ts, r.received_at, r.hour, r.payload)


def insert_raw(rows: Sequence[RawRow]) -> Statement:
    """One multi-row upsert; the earliest (received_at, payload) wins: commutative."""
    values = [_row_values(r) for r in rows]
    return Statement(
        "INSERT INTO telemetry_raw "
        "(device_id, message_id, kind, topic, ts, received_at, hour, payload) "
        "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, "
        "value ->> 6, value ->> 7 FROM json_each(?) WHERE true "  # WHERE: SQLite's upsert rule
        "ON CONFLICT (device_id, message_id) DO UPDATE SET "
        "kind = excluded.kind, topic = excluded.topic, ts = excluded.ts, "
        "received_at = excluded.received_at, hour = excluded.hour, payload = excluded.payload "
        "WHERE (excluded.received_at, excluded.payload) < "
        "(telemetry_raw.received_at, telemetry_raw.payload)",
        (_json(values),),
    )


def mark_dirty(pairs: Sequence[tuple[str, int]]) -> Statement:
    """(device_id, hour) pairs whose rollup must be recomputed; a repeat bumps `gen`."""
    return Statement(
        "INSERT INTO telemetry_dirty (device_id, hour) "
        "SELECT value ->> 0, value ->> 1 FROM json_each(?) WHERE true "
        "ON CONFLICT (device_id, hour) DO UPDATE SET gen = gen + 1",
        (_json(pairs),),
    )


def _chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _insert_chunks(rows: Sequence[RawRow]) -> list[Sequence[RawRow]]:
    """Consecutive runs of at most ROWS_PER_INSERT rows and INSERT_BYTES of row JSON."""
    chunks: list[Sequence[RawRow]] = []
    start, size = 0, 0
    for i, row in enumerate(rows):
        length = len(_json([_row_values(row)]).encode())
        if i > start and (i - start == ROWS_PER_INSERT or size + length > INSERT_BYTES):
            chunks.append(rows[start:i])
            start, size = i, 0
        size += length
    if start < len(rows):
        chunks.append(rows[start:])
    return chunks


def shard_statements(rows: Sequence[RawRow]) -> list[Statement]:
    """Raw inserts and dirty markers per (device, hour) of rows that share one shard: a few
    multi-row statements for one D1 batch (statement count, not row count, is what costs)."""
    dirty = sorted({(r.device_id, r.hour) for r in rows})
    return [insert_raw(chunk) for chunk in _insert_chunks(rows)] + [
        mark_dirty(chunk) for chunk in _chunks(dirty, PAIRS_PER_STATEMENT)
    ]


def last_seen_statements(rows: Sequence[RawRow]) -> list[Statement]:
    """devices.last_seen and telemetry_at moved to each device's newest receive time, and
    radar_error_at / radar_ok_at to its newest health report with radar_ok false / true
    (never backwards): the health-gated soak of a rollout reads them."""
    newest: dict[str, int] = {}
    radar: dict[tuple[str, bool], int] = {}  # (device, radar_ok) → newest report
    for r in rows:
        newest[r.device_id] = max(newest.get(r.device_id, 0), r.received_at)
        ok = _radar_ok(r) if r.kind == "health" else None
        if ok is not None:
            radar[r.device_id, ok] = max(radar.get((r.device_id, ok), 0), r.received_at)
    seen = [
        (device_id, iso_ms(at), at, radar.get((device_id, False)), radar.get((device_id, True)))
        for device_id, at in sorted(newest.items())
    ]
    return [advance_last_seen(chunk) for chunk in _chunks(seen, PAIRS_PER_STATEMENT)]


def _radar_ok(row: RawRow) -> bool | None:
    try:
        ok = json.loads(row.payload).get("radar_ok")
    except (ValueError, AttributeError):
        return None
    return ok if isinstance(ok, bool) else None


def ingest_statements(rows: Sequence[RawRow]) -> list[Statement]:
    """Everything one unsharded ingest writes, for one D1 batch: raw rows, markers, last_seen."""
    return shard_statements(rows) + last_seen_statements(rows)


async def store_rows(shards: Shards, rows: Sequence[RawRow]) -> None:
    """Store validated rows exactly once.

    One shard (N = 1): one D1 batch, all or nothing, last_seen included, as ever.
    N > 1: each shard's rows and markers in one D1 batch, the shards at once; then, once
    every shard committed, last_seen in the main database (DB). A failure raises
    (StorageError): the caller's retry (EMQX on a 503, the queue) redelivers the whole lot,
    which the shards that did commit absorb (the upserts are idempotent). last_seen is a
    monotonic max written after the rows, so it never claims telemetry that was not stored,
    and a retry after a lost last_seen write sets it again.
    """
    if len(shards) == 1:
        await shards.main.batch(ingest_statements(rows))
        return
    groups = shards.split(rows, lambda r: r.device_id)
    batches = (shards.databases[i].batch(shard_statements(part)) for i, part in groups.items())
    # Every batch settles before this returns (no write left running after the answer).
    outcomes = await asyncio.gather(*batches, return_exceptions=True)
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    if failed:
        raise failed[0]
    await shards.main.batch(last_seen_statements(rows))


async def raw_hour_page(
    db: Database, hour: int, after: tuple[str, str], limit: int
) -> list[RawRow]:
    """One shard's raw rows of an hour after key (device_id, message_id), in key order."""
    found = await db.all(
        "SELECT device_id, message_id, kind, topic, ts, received_at, payload "
        "FROM telemetry_raw WHERE hour = ? AND (device_id, message_id) > (?, ?) "
        "ORDER BY device_id, message_id LIMIT ?",
        hour,
        *after,
        limit,
    )
    return [RawRow(**r) for r in found]


async def _all_pages(
    read: Callable[[tuple[str, str]], Awaitable[list[RawRow]]], page: int
) -> list[RawRow]:
    """Every row `read` pages out in key order, `page` rows at a time after the last key."""
    rows: list[RawRow] = []
    after = ("", "")
    while True:
        found = await read(after)
        rows += found
        if len(found) < page:
            return rows
        after = _key(found[-1])


async def hour_rows(db: Database, hour: int, page: int = HOUR_PAGE) -> list[RawRow]:
    """All of one shard's raw rows of an hour in archive order (device_id, message_id)."""
    return await _all_pages(lambda after: raw_hour_page(db, hour, after, page), page)


def _key(row: RawRow) -> tuple[str, str]:
    """The merge order: Python's str order is SQLite's BINARY order of the UTF-8 text."""
    return (row.device_id, row.message_id)


async def fleet_hour_page(
    shards: Shards, hour: int, after: tuple[str, str], limit: int
) -> list[RawRow]:
    """The fleet's raw rows of an hour after key `after`, in key order across every shard.

    The cursor is the key of the last row a page returned: each key is in one shard only, so
    it is a position in every shard at once. Each shard is read `limit` rows past it at once
    and the sorted pages merged; rows past the first `limit` are read again next page."""
    pages = await shards.each(lambda db: raw_hour_page(db, hour, after, limit))
    return list(heapq.merge(*pages, key=_key))[:limit]


async def fleet_hour_rows(shards: Shards, hour: int, page: int = HOUR_PAGE) -> list[RawRow]:
    """Every shard's raw rows of an hour in archive order (device_id, message_id)."""
    return await _all_pages(lambda after: fleet_hour_page(shards, hour, after, page), page)


async def raw_page(
    shards: Shards, device_id: str, start: int, end: int, after: tuple[int, str], limit: int
) -> list[Row]:
    """A device's raw rows received in [start, end) after (received_at, message_id): read
    from the device's shard only."""
    return await shards.of(device_id).all(
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
    shards: Shards, device_id: str, first_hour: int, end_hour: int, after_hour: int, limit: int
) -> list[Row]:
    """A device's rollups for hours in [first_hour, end_hour) after `after_hour` (from the
    device's shard, where the hourly job of that shard wrote them)."""
    return await shards.of(device_id).all(
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


async def shard_row_count(db: Database) -> int:
    row = await db.first("SELECT COUNT(*) AS n FROM telemetry_raw")
    return int(row["n"]) if row else 0


async def row_count(shards: Shards) -> int:
    """Raw rows of the whole fleet: every shard counted at once, summed."""
    return sum(await shards.each(shard_row_count))


async def diag_answer(shards: Shards, device_id: str, request_id: str) -> Row | None:
    """The device's first telemetry/diag message answering `request_id`, if any."""
    return await shards.of(device_id).first(
        "SELECT payload, received_at FROM telemetry_raw WHERE device_id = ? AND kind = 'diag' "
        "AND json_extract(payload, '$.request_id') = ? ORDER BY received_at LIMIT 1",
        device_id,
        request_id,
    )
