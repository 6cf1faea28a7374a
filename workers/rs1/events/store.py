"""SQL of outbound events: endpoints, the event log, deliveries and their attempts.

The outbox (rs1.outbox.store) inserts events and their pending deliveries in the batch of a
state change; everything after that is here. A drainer claims due deliveries by a lease set in
one UPDATE (two drainers never hold the same delivery), and a result is written only while
the row still carries that claim (status pending, the same attempt number), so a late result
never moves a delivered row back.
"""

import json
from collections.abc import Sequence
from typing import Any

from rs1.storage.database import Database, Row, Statement

_ENDPOINT = (
    "endpoint_id, url, description, event_types, enabled, disabled_reason, "
    "consecutive_failures, created_by, created_at"
)
_DELIVERY = (
    "d.delivery_id, d.event_id, d.endpoint_id, e.type AS event_type, d.status, d.attempts, "
    "d.next_attempt_ms, d.last_attempt_ms, d.last_status, d.last_error, d.delivered_ms"
)


# --- endpoints -------------------------------------------------------------------------------


async def add_endpoint(db: Database, row: dict[str, Any]) -> None:
    await db.run(
        "INSERT INTO event_endpoints (endpoint_id, url, description, event_types, created_by, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)",
        row["endpoint_id"], row["url"], row["description"], json.dumps(row["event_types"]),
        row["created_by"], row["created_at"],
    )  # fmt: skip


async def endpoint(db: Database, endpoint_id: str) -> Row | None:
    return await db.first(
        f"SELECT {_ENDPOINT} FROM event_endpoints WHERE endpoint_id = ? AND deleted_at IS NULL",
        endpoint_id,
    )


async def endpoints(db: Database) -> list[Row]:
    return await db.all(
        f"SELECT {_ENDPOINT} FROM event_endpoints WHERE deleted_at IS NULL "
        "ORDER BY created_at, endpoint_id"
    )


async def update_endpoint(db: Database, endpoint_id: str, changes: dict[str, Any]) -> bool:
    """Set url, description, event_types or enabled; enabling clears the failure count."""
    sets, params = [], []
    for name in ("url", "description", "event_types", "enabled"):
        if name in changes:
            value = changes[name]
            sets.append(f"{name} = ?")
            params.append(json.dumps(value) if name == "event_types" else value)
    if changes.get("enabled"):
        sets += ["consecutive_failures = 0", "disabled_reason = NULL"]
    if not sets:
        return await endpoint(db, endpoint_id) is not None
    result = await db.run(
        f"UPDATE event_endpoints SET {', '.join(sets)} "
        "WHERE endpoint_id = ? AND deleted_at IS NULL",
        *params,
        endpoint_id,
    )
    return result.changes > 0


async def delete_endpoint(db: Database, endpoint_id: str, at: str) -> bool:
    """Soft delete (deliveries keep their endpoint); its pending deliveries are dropped."""
    results = await db.batch(
        [
            Statement(
                "UPDATE event_endpoints SET deleted_at = ?, enabled = 0 "
                "WHERE endpoint_id = ? AND deleted_at IS NULL RETURNING endpoint_id",
                (at, endpoint_id),
            ),
            Statement(
                "UPDATE event_deliveries SET status = 'dead', last_error = 'endpoint deleted' "
                "WHERE endpoint_id = ? AND status = 'pending'",
                (endpoint_id,),
            ),
        ]
    )
    return bool(results[0])


# --- the event log and deliveries --------------------------------------------------------------


async def event(db: Database, event_id: str) -> Row | None:
    return await db.first(
        "SELECT event_id, type, created_at, created_ms, data FROM events WHERE event_id = ?",
        event_id,
    )


async def events_page(
    db: Database, event_type: str | None, since_ms: int | None, before: tuple[int, str] | None,
    limit: int,
) -> list[Row]:  # fmt: skip
    """Newest first, keyset-paged on (created_ms, event_id)."""
    where, params = _filters({"type = ?": event_type, "created_ms >= ?": since_ms})
    if before is not None:
        where.append("(created_ms < ? OR (created_ms = ? AND event_id < ?))")
        params += [before[0], before[0], before[1]]
    return await db.all(
        f"SELECT event_id, type, created_at, created_ms, data FROM events {_where(where)} "
        "ORDER BY created_ms DESC, event_id DESC LIMIT ?",
        *params,
        limit,
    )


async def deliveries_page(
    db: Database, filters: dict[str, str | None], after: str | None, limit: int
) -> list[Row]:
    """By delivery id (stable), filtered by event, endpoint and status."""
    where, params = _filters(
        {
            "d.event_id = ?": filters.get("event_id"),
            "d.endpoint_id = ?": filters.get("endpoint_id"),
            "d.status = ?": filters.get("status"),
            "d.delivery_id > ?": after,
        }
    )
    return await db.all(
        f"SELECT {_DELIVERY} FROM event_deliveries d JOIN events e ON e.event_id = d.event_id "
        f"{_where(where)} ORDER BY d.delivery_id LIMIT ?",
        *params,
        limit,
    )


async def attempts(db: Database, delivery_id: str) -> list[Row]:
    return await db.all(
        "SELECT attempt, at_ms, status, error, duration_ms FROM event_attempts "
        "WHERE delivery_id = ? ORDER BY attempt",
        delivery_id,
    )


def _filters(conditions: dict[str, Any]) -> tuple[list[str], list[Any]]:
    where = [sql for sql, value in conditions.items() if value is not None]
    return where, [value for value in conditions.values() if value is not None]


def _where(where: list[str]) -> str:
    return f"WHERE {' AND '.join(where)}" if where else ""


# --- draining ----------------------------------------------------------------------------------


async def claim_due(db: Database, now_ms: int, lease_ms: int, limit: int) -> list[Row]:
    """Lease up to `limit` due deliveries (one UPDATE: a concurrent drainer gets others)."""
    return await db.all(
        "UPDATE event_deliveries SET lease_until_ms = ?, attempts = attempts + 1 "
        "WHERE delivery_id IN (SELECT delivery_id FROM event_deliveries WHERE status = "
        "'pending' AND next_attempt_ms <= ? AND lease_until_ms <= ? AND endpoint_id IN "
        # A disabled endpoint's deliveries wait, and resume when it is enabled again.
        "(SELECT endpoint_id FROM event_endpoints WHERE enabled = 1 AND deleted_at IS NULL) "
        "ORDER BY next_attempt_ms LIMIT ?) "
        "RETURNING delivery_id, event_id, endpoint_id, attempts, created_ms",
        now_ms + lease_ms, now_ms, now_ms, limit,
    )  # fmt: skip


def _attempt(delivery: Row, now_ms: int, status: int | None, error: str | None,
             duration_ms: int) -> Statement:  # fmt: skip
    return Statement(
        "INSERT OR IGNORE INTO event_attempts (delivery_id, attempt, at_ms, status, error, "
        "duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
        (delivery["delivery_id"], delivery["attempts"], now_ms, status, error, duration_ms),
    )


# The batch's previous statement changed a row: the endpoint's counter moves only with the
# delivery (a result that lost its claim changes neither), and is disabled only by the
# increment this result made. The attempt row goes last, outside the chain: it happened.
_MOVED = "changes() > 0"


def _claimed(delivery: Row) -> tuple[str, tuple[Any, ...]]:
    return "delivery_id = ? AND status = 'pending' AND attempts = ?", (
        delivery["delivery_id"],
        delivery["attempts"],
    )


async def record_success(db: Database, delivery: Row, now_ms: int, status: int,
                         duration_ms: int) -> None:  # fmt: skip
    where, params = _claimed(delivery)
    await db.batch(
        [
            Statement(
                "UPDATE event_deliveries SET status = 'delivered', delivered_ms = ?, "
                "last_attempt_ms = ?, last_status = ?, last_error = NULL, lease_until_ms = 0 "
                f"WHERE {where}",
                (now_ms, now_ms, status, *params),
            ),
            Statement(
                "UPDATE event_endpoints SET consecutive_failures = 0 WHERE endpoint_id = ? "
                f"AND {_MOVED}",
                (delivery["endpoint_id"],),
            ),
            _attempt(delivery, now_ms, status, None, duration_ms),
        ]
    )


async def record_failure(
    db: Database,
    delivery: Row,
    now_ms: int,
    outcome: tuple[int | None, str],
    retry_at_ms: int | None,
    duration_ms: int,
    disable_after: int,
) -> bool:
    """Retry at `retry_at_ms`, or give up (None: dead). True if this failure disabled the
    endpoint (its `disable_after`-th in a row)."""
    status, error = outcome
    where, params = _claimed(delivery)
    state = "pending" if retry_at_ms is not None else "dead"
    results = await db.batch(
        [
            Statement(
                "UPDATE event_deliveries SET status = ?, next_attempt_ms = ?, "
                "last_attempt_ms = ?, last_status = ?, last_error = ?, lease_until_ms = 0 "
                f"WHERE {where}",
                (state, retry_at_ms or now_ms, now_ms, status, error[:500], *params),
            ),
            Statement(
                "UPDATE event_endpoints SET consecutive_failures = consecutive_failures + 1 "
                f"WHERE endpoint_id = ? AND {_MOVED}",
                (delivery["endpoint_id"],),
            ),
            Statement(
                "UPDATE event_endpoints SET enabled = 0, disabled_reason = ? "
                "WHERE endpoint_id = ? AND enabled = 1 AND consecutive_failures >= ? "
                f"AND {_MOVED} RETURNING endpoint_id",
                (
                    f"{disable_after} failed deliveries in a row",
                    delivery["endpoint_id"],
                    disable_after,
                ),
            ),
            _attempt(delivery, now_ms, status, error[:500], duration_ms),
        ]
    )
    return bool(results[2])


async def delivery_targets(db: Database, event_ids: Sequence[str], endpoint_ids: Sequence[str]
                           ) -> tuple[dict[str, Row], dict[str, Row]]:  # fmt: skip
    """The claimed deliveries' events and endpoints, by id."""
    events = await db.all(
        f"SELECT event_id, type, created_at, created_ms, data FROM events "
        f"WHERE event_id IN ({_marks(event_ids)})",
        *event_ids,
    )
    targets = await db.all(
        f"SELECT endpoint_id, url, enabled, deleted_at FROM event_endpoints "
        f"WHERE endpoint_id IN ({_marks(endpoint_ids)})",
        *endpoint_ids,
    )
    return {e["event_id"]: e for e in events}, {t["endpoint_id"]: t for t in targets}


def _marks(values: Sequence[str]) -> str:
    return ", ".join("?" for _ in values)


async def redeliver(db: Database, event_id: str, now_ms: int) -> list[str]:
    """Send the event again to every endpoint it went to and to every enabled endpoint now
    subscribed to its type (a new delivery); the delivery ids."""
    await db.batch(
        [
            Statement(
                # A fresh 24 hours of retries from now (created_ms is what the age counts from).
                "UPDATE event_deliveries SET status = 'pending', next_attempt_ms = ?, "
                "created_ms = ?, lease_until_ms = 0 WHERE event_id = ?",
                (now_ms, now_ms, event_id),
            ),
            Statement(
                "INSERT OR IGNORE INTO event_deliveries (delivery_id, event_id, endpoint_id, "
                "created_ms, next_attempt_ms) SELECT ? || ':' || p.endpoint_id, ?, "
                "p.endpoint_id, ?, ? FROM event_endpoints p JOIN events e ON e.event_id = ? "
                "WHERE p.enabled = 1 AND p.deleted_at IS NULL AND EXISTS (SELECT 1 FROM "
                "json_each(p.event_types) WHERE value = e.type)",
                (event_id, event_id, now_ms, now_ms, event_id),
            ),
        ]
    )
    rows = await db.all(
        "SELECT delivery_id FROM event_deliveries WHERE event_id = ? ORDER BY delivery_id",
        event_id,
    )
    return [r["delivery_id"] for r in rows]
