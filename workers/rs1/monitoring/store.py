"""SQL for monitoring's own tables (alerts, api_stats, security_log), the health probe, and
monitoring's read-only report queries over other aggregates' tables (devices, ota_*,
telemetry_raw): counts the alert checks measure, never writes."""

import time
from collections.abc import Sequence
from datetime import datetime

from rs1.monitoring.checks import Finding
from rs1.outbox.store import NewEvent, run_with_events
from rs1.storage.database import Database, Row, Statement

ALERT_COLUMNS = (
    "alert_id, kind, subject, status, message, value, threshold, opened_at, updated_at, resolved_at"
)


async def ping(db: Database) -> None:
    """Raises if the database does not answer."""
    await db.first("SELECT 1 AS ok")


# --- security_log ----------------------------------------------------------------------------


async def add_security_event(db: Database, event_type: str, details: str, ip: str, at: str) -> None:
    await db.run(
        "INSERT INTO security_log (event_type, details, ip, timestamp) VALUES (?, ?, ?, ?)",
        event_type,
        details,
        ip,
        at,
    )


async def security_event_counts(db: Database) -> dict[str, int]:
    """Events per type, commonest first."""
    rows = await db.all(
        "SELECT event_type, COUNT(*) AS n FROM security_log GROUP BY event_type ORDER BY n DESC"
    )
    return {r["event_type"]: r["n"] for r in rows}


async def security_events(
    db: Database, event_type: str | None, before_id: int | None, limit: int
) -> list[Row]:
    """security_log rows, newest first, of `event_type` when given, below `before_id` (the
    cursor: the id of the previous page's last row)."""
    where: list[str] = []
    params: list[str | int] = []
    if event_type:
        where.append("event_type = ?")
        params.append(event_type)
    if before_id is not None:
        where.append("id < ?")
        params.append(before_id)
    clause = f"WHERE {' AND '.join(where)}" if where else ""
    return await db.all(
        f"SELECT id, event_type, details, ip, timestamp FROM security_log {clause} "
        "ORDER BY id DESC LIMIT ?",
        *params,
        limit,
    )


# --- api_stats -------------------------------------------------------------------------------


async def add_api_counts(db: Database, worker: str, counts: Sequence[tuple[int, int, int]]) -> None:
    """Add (minute, requests, errors) to the worker's per-minute counters, in one batch."""
    await db.batch(
        [
            Statement(
                "INSERT INTO api_stats (minute, worker, requests, errors) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (minute, worker) DO UPDATE SET "
                "requests = requests + excluded.requests, errors = errors + excluded.errors",
                (minute, worker, requests, errors),
            )
            for minute, requests, errors in counts
        ]
    )


async def api_totals(db: Database, since_minute: int) -> tuple[int, int]:
    """(requests, errors) over every worker since `since_minute` (epoch minutes)."""
    row = await db.first(
        "SELECT COALESCE(SUM(requests), 0) AS r, COALESCE(SUM(errors), 0) AS e FROM api_stats "
        "WHERE minute >= ?",
        since_minute,
    )
    assert row is not None  # an aggregate always answers one row
    return int(row["r"]), int(row["e"])


# --- alerts ----------------------------------------------------------------------------------
# Each transition is decided by the statement that makes it (its WHERE guards the status), so
# two overlapping runs see it happen once.


async def resolve_alert(
    db: Database, alert_id: str, message: str, value: float | None, at: str
) -> bool:
    """Resolve the alert if it is open; True if this call resolved it."""
    change = Statement(
        "UPDATE alerts SET status = 'resolved', message = ?, value = ?, updated_at = ?, "
        "resolved_at = ? WHERE alert_id = ? AND status = 'open'",
        (message, value, at, at, alert_id),
    )
    kind, _, subject = alert_id.partition(":")
    event = alert_event(alert_id, kind, subject, message, False, at, _ms(at))
    return await run_with_events(db, change, [event]) > 0


async def refresh_open_alert(
    db: Database, alert_id: str, message: str, value: float | None, at: str
) -> bool:
    """Update an open alert's reading; False if it is not open."""
    result = await db.run(
        "UPDATE alerts SET message = ?, value = ?, updated_at = ? "
        "WHERE alert_id = ? AND status = 'open'",
        message, value, at, alert_id,
    )  # fmt: skip
    return result.changes > 0


async def open_alert(db: Database, finding: Finding, at: str) -> bool:
    """Open (or reopen) the finding's alert; True if this call opened it."""
    change = Statement(
        "INSERT INTO alerts (alert_id, kind, subject, status, message, value, threshold, "
        "opened_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?) "
        "ON CONFLICT (alert_id) DO UPDATE SET status = 'open', message = excluded.message, "
        "value = excluded.value, updated_at = excluded.updated_at, resolved_at = NULL, "
        "opened_at = excluded.opened_at WHERE alerts.status <> 'open'",
        (finding.alert_id, finding.kind, finding.subject, finding.message,
         finding.value, finding.threshold, at, at),
    )  # fmt: skip
    return await run_with_events(db, change, [_opened(finding, at)]) > 0


async def raise_alert(db: Database, finding: Finding, at: str) -> None:
    """Open the alert, or refresh an existing one's message whatever its state (an event, such
    as a rollout abort, not a measurement: no value to keep, nothing to wait for)."""
    change = Statement(
        "INSERT INTO alerts (alert_id, kind, subject, status, message, value, threshold, "
        "opened_at, updated_at) VALUES (?, ?, ?, 'open', ?, NULL, ?, ?, ?) "
        "ON CONFLICT (alert_id) DO UPDATE SET status = 'open', message = excluded.message, "
        "updated_at = excluded.updated_at, resolved_at = NULL",
        (finding.alert_id, finding.kind, finding.subject, finding.message,
         finding.threshold, at, at),
    )  # fmt: skip
    await run_with_events(db, change, [_opened(finding, at)])


def _opened(finding: Finding, at: str) -> NewEvent:
    return alert_event(
        finding.alert_id, finding.kind, finding.subject, finding.message, True, at, _ms(at)
    )


def _ms(at: str) -> int:
    """An event's time from the alert's (ISO) time; now for a time that is not ISO."""
    try:
        return int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError:
        return int(time.time() * 1000)


async def list_alerts(db: Database, status: str | None, limit: int = 200) -> list[Row]:
    """Alerts in `status` (every status when None), most recently updated first."""
    where, params = ("", ()) if status is None else ("WHERE status = ?", (status,))
    return await db.all(
        f"SELECT {ALERT_COLUMNS} FROM alerts {where} ORDER BY updated_at DESC LIMIT ?",
        *params,
        limit,
    )


async def open_alert_count(db: Database) -> int:
    row = await db.first("SELECT COUNT(*) AS n FROM alerts WHERE status = 'open'")
    assert row is not None  # an aggregate always answers one row
    return int(row["n"])


# --- report queries over other aggregates (read-only) ----------------------------------------


async def active_device_counts(db: Database) -> tuple[int, int]:
    """(active devices, of which online)."""
    row = await db.first(
        "SELECT COUNT(*) AS n, COALESCE(SUM(online), 0) AS up FROM devices WHERE status = 'active'"
    )
    assert row is not None  # an aggregate always answers one row
    return int(row["n"]), int(row["up"])


async def rollout_outcomes(db: Database, statuses: Sequence[str]) -> list[tuple[str, int, int]]:
    """(rollout_id, failed, finished) for each rollout in one of `statuses`."""
    marks = ",".join("?" * len(statuses))
    rows = await db.all(
        "SELECT r.rollout_id, "
        "SUM(s.status IN ('failed', 'timed_out')) AS failed, "
        "SUM(s.status IN ('success', 'failed', 'timed_out')) AS finished "
        "FROM ota_rollouts r LEFT JOIN ota_device_status s ON s.rollout_id = r.rollout_id "
        f"WHERE r.status IN ({marks}) GROUP BY r.rollout_id",
        *statuses,
    )
    return [(r["rollout_id"], int(r["failed"] or 0), int(r["finished"] or 0)) for r in rows]


async def telemetry_windows(
    db: Database, start_ms: int, window_ms: int, end_ms: int
) -> dict[int, int]:
    """Messages received per window since `start_ms` (window index → count; empty ones absent)."""
    rows = await db.all(
        "SELECT (received_at - ?) / ? AS w, COUNT(*) AS n FROM telemetry_raw "
        "WHERE received_at >= ? AND received_at < ? GROUP BY w",
        start_ms, window_ms, start_ms, end_ms,
    )  # fmt: skip
    return {int(r["w"]): int(r["n"]) for r in rows}


# --- the outbound events its changes emit (rs1.outbox) ---


def alert_event(
    alert_id: str, kind: str, subject: str | None, message: str, opened: bool, at: str, at_ms: int
) -> NewEvent:
    alert = "EXISTS (SELECT 1 FROM alerts WHERE alert_id = ? AND status = "
    if opened:
        when, event_type = alert + "'open' AND updated_at = ?)", "alert.opened"
    else:
        when, event_type = alert + "'resolved' AND resolved_at = ?)", "alert.resolved"
    data = {"alert_id": alert_id, "kind": kind, "subject": subject, "message": message, "at": at}
    return NewEvent(event_type, f"{alert_id}:{at}", data, at_ms, when, (alert_id, at))
