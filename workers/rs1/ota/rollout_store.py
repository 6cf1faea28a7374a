"""SQL for rollouts (ota_rollouts) and each device's way through one (ota_device_status).

EMQX 5 delivers a device's connect event, `state` and `ota/status` in no particular order, and
production runs them at once in several isolates; the cron and admin calls race them too. So
each transition is one conditional statement: the database, not a read made a moment earlier,
decides whether it applies. A report never moves a device backwards, and a device that runs
the rollout's version is a success whatever order its messages arrive in.

Device status ranks come from rs1.ota.device_status.RANK, never from literals here.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rs1.ota.device_status import CANCELLABLE, FAILURES, FINAL, IN_PROGRESS, RANK
from rs1.outbox.store import NewEvent, run_with_events
from rs1.storage.database import Database, Row, Statement, StorageError
from rs1.timefmt import iso_ms

ACTIVE, PAUSED, COMPLETED, ABORTED = "active", "paused", "completed", "aborted"
LIVE = (ACTIVE, PAUSED)
ID_CHUNK = 90  # device ids a statement binds: D1 takes at most 100 parameters


def _marks(n: int) -> str:
    return ",".join("?" * n)


# --- rollouts --------------------------------------------------------------------------------


async def insert_rollout(
    db: Database,
    *,
    rollout_id: str,
    model: str,
    version: str,
    url: str,
    sha256: str,
    size: int,
    signature: str,
    stages: list[dict[str, Any]],
    target_percent: int,
    threshold: float,
    timeout_minutes: float,
    allow_downgrade: bool,
    device_ids: list[str],
    now_ms: int,
    cohort_query: str | None = None,
    policy_json: str = "{}",
    start_at: int | None = None,
    soak_ms: int = 0,
    security_version: int = 0,
    rollback_of: str | None = None,
    stage_started_at: int | None = None,
) -> bool:
    """An active rollout at its first stage; False when the model already has a live one (a
    unique index, migration 0007, lets exactly one of racing creates in)."""
    try:
        await db.run(
            "INSERT INTO ota_rollouts (rollout_id, firmware_version, firmware_url, "
            "firmware_sha256, status, target_percent, model, firmware_size, firmware_signature, "
            "stages_json, current_stage, stage_started_at, failure_threshold, timeout_minutes, "
            "allow_downgrade, device_ids_json, updated_at, cohort_query, cohort_percent, "
            "policy_json, start_at, soak_ms, security_version, rollback_of) "
            f"VALUES (?, ?, ?, ?, 'active', {_marks(5)}, 0, {_marks(13)})",
            rollout_id, version, url, sha256, target_percent, model, size, signature,
            json.dumps(stages), stage_started_at or now_ms, threshold, timeout_minutes,
            int(allow_downgrade),
            json.dumps(device_ids), now_ms, cohort_query, stages[0]["percent"], policy_json,
            start_at, soak_ms, security_version, rollback_of,
        )  # fmt: skip
    except StorageError as exc:
        if exc.is_unique_violation:
            return False
        raise
    return True


async def get_rollout(db: Database, rollout_id: str) -> Row | None:
    return await db.first("SELECT * FROM ota_rollouts WHERE rollout_id = ?", rollout_id)


async def rollout_status(db: Database, rollout_id: str) -> str | None:
    row = await db.first("SELECT status FROM ota_rollouts WHERE rollout_id = ?", rollout_id)
    return None if row is None else str(row["status"])


async def live_rollouts(db: Database, model: str | None = None) -> list[Row]:
    """Active and paused rollouts (of one model, or all), oldest first."""
    return await db.all(
        "SELECT * FROM ota_rollouts WHERE status IN (?, ?) AND (? IS NULL OR model = ?) "
        "ORDER BY created_at",
        *LIVE,
        model,
        model,
    )


async def recent_rollout_ids(db: Database, limit: int = 100) -> list[str]:
    rows = await db.all(
        "SELECT rollout_id FROM ota_rollouts ORDER BY created_at DESC LIMIT ?", limit
    )
    return [str(r["rollout_id"]) for r in rows]


async def aborted_with_devices_in_flight(db: Database) -> list[Row]:
    """Aborted rollouts that still have a device between trigger and reboot, or soaking."""
    ranks = [RANK[s] for s in IN_PROGRESS]
    return await db.all(
        "SELECT r.* FROM ota_rollouts r WHERE r.status = ? AND EXISTS (SELECT 1 FROM "
        "ota_device_status s WHERE s.rollout_id = r.rollout_id "
        "AND (s.status_rank BETWEEN ? AND ? OR s.soak = 'soaking'))",
        ABORTED,
        min(ranks),
        max(ranks),
    )


async def set_rollout_status(
    db: Database, rollout_id: str, status: str, reason: str, now_ms: int, allowed: Sequence[str]
) -> bool:
    """Move the rollout to `status` if it is in one of `allowed`; False when it was not (a
    transition that lost a race changes nothing)."""
    change = Statement(
        "UPDATE ota_rollouts SET status = ?, status_reason = ?, updated_at = ? "
        f"WHERE rollout_id = ? AND status IN ({_marks(len(allowed))})",
        (status, reason, now_ms, rollout_id, *allowed),
    )
    event = rollout_status_event(rollout_id, status, reason, now_ms)
    return await run_with_events(db, change, [event] if event else []) == 1


async def move_stage(
    db: Database,
    rollout_id: str,
    from_stage: int,
    to_stage: int,
    target_percent: int,
    cohort_percent: float,
    reason: str,
    now_ms: int,
) -> bool:
    """Compare-and-set on the stage of an active rollout: of racing moves (the cron, an
    admin's advance) one wins; False for the others."""
    change = Statement(
        "UPDATE ota_rollouts SET current_stage = ?, stage_started_at = ?, target_percent = ?, "
        "cohort_percent = MAX(COALESCE(cohort_percent, 0), ?), "
        "status_reason = ?, updated_at = ? WHERE rollout_id = ? AND current_stage = ? "
        "AND status = ?",
        (to_stage, now_ms, target_percent, cohort_percent, reason, now_ms, rollout_id,
         from_stage, ACTIVE),
    )  # fmt: skip
    event = stage_advanced_event(rollout_id, from_stage, to_stage, target_percent, reason, now_ms)
    return await run_with_events(db, change, [event]) == 1


# --- device status rows: reads ---------------------------------------------------------------


async def get(db: Database, device_id: str, rollout_id: str) -> Row | None:
    """A device's status row in one rollout: status and progress."""
    return await db.first(
        "SELECT status, progress FROM ota_device_status WHERE device_id = ? AND rollout_id = ?",
        device_id,
        rollout_id,
    )


# An installed device that is still soaking, or failed its soak, is counted apart from success.
_SOAK_STATUS = (
    "CASE WHEN status = 'success' AND soak = 'soaking' THEN 'soaking' "
    "WHEN status = 'success' AND soak = 'failed' THEN 'soak_failed' ELSE status END"
)


async def status_counts(db: Database, rollout_id: str) -> dict[str, int]:
    """Rows per status, with `soaking` and `soak_failed` split out of `success`."""
    rows = await db.all(
        f"SELECT {_SOAK_STATUS} AS status, COUNT(*) AS n FROM ota_device_status "
        "WHERE rollout_id = ? GROUP BY 1",
        rollout_id,
    )
    return {r["status"]: int(r["n"]) for r in rows}


async def pending_online(db: Database, rollout_id: str) -> int:
    """Pending rows of devices that are online: waiting for the rate budget or their window."""
    row = await db.first(
        "SELECT COUNT(*) AS n FROM ota_device_status s JOIN devices d ON d.device_id = "
        "s.device_id WHERE s.rollout_id = ? AND s.status = 'pending' AND d.online = 1 "
        "AND d.firmware_version IS NOT (SELECT firmware_version FROM ota_rollouts "
        "WHERE rollout_id = s.rollout_id)",
        rollout_id,
    )
    return int(row["n"]) if row else 0


async def joined_late(db: Database, rollout_id: str) -> int:
    """Devices that came to match the cohort after their stage's first enrolment pass."""
    row = await db.first(
        "SELECT COUNT(*) AS n FROM ota_device_status WHERE rollout_id = ? AND joined_late = 1",
        rollout_id,
    )
    return int(row["n"]) if row else 0


async def ramp_successes(db: Database, rollout_id: str) -> int:
    """Healthy installs (success, and its soak passed when there is one) that became final
    since the rollout's latest failure (failed, timed out, or a failed soak): the ramp's
    "consecutive" successes, ordered by when each result became final (updated_at)."""
    row = await db.first(
        "SELECT COUNT(*) AS n FROM ota_device_status WHERE rollout_id = ?1 "
        "AND status = 'success' AND COALESCE(soak, 'passed') = 'passed' "
        "AND updated_at > (SELECT COALESCE(MAX(updated_at), '') FROM ota_device_status "
        "WHERE rollout_id = ?1 AND (status IN ('failed', 'timed_out') OR soak = 'failed'))",
        rollout_id,
    )
    return int(row["n"]) if row else 0


async def devices_page(db: Database, rollout_id: str, after: str, limit: int) -> list[Row]:
    """The rollout's device rows after `after`, by device id (the admin's per-device view)."""
    return await db.all(
        "SELECT device_id, status, stage, from_version, error_message, triggered_at, "
        "trigger_count, joined_late, soak, soak_error, rolled_back FROM ota_device_status "
        "WHERE rollout_id = ? AND device_id > ? ORDER BY device_id LIMIT ?",
        rollout_id,
        after,
        limit,
    )


async def soak_failures(db: Database, rollout_id: str) -> dict[str, int]:
    """Failed soaks by reason."""
    rows = await db.all(
        "SELECT soak_error, COUNT(*) AS n FROM ota_device_status WHERE rollout_id = ? "
        "AND soak = 'failed' GROUP BY soak_error",
        rollout_id,
    )
    return {str(r["soak_error"]): int(r["n"]) for r in rows}


async def active_for_device(db: Database, device_id: str) -> list[Row]:
    """The device's part in live rollouts it takes part in (for GET /api/devices/{id})."""
    return await db.all(
        "SELECT s.rollout_id, r.firmware_version, s.status, s.progress FROM ota_device_status s "
        "JOIN ota_rollouts r ON r.rollout_id = s.rollout_id WHERE s.device_id = ? AND "
        "r.status IN ('active', 'paused') AND s.status NOT IN ('skipped', 'cancelled')",
        device_id,
    )


async def enrol_candidates(
    db: Database,
    rollout_id: str,
    model: str,
    default_model: str,
    cohort: tuple[str, tuple[Any, ...]] | None = None,
) -> list[Row]:
    """Active devices of the model (a device without one counts as `default_model`), matching
    the cohort query's WHERE fragment over `d` (rs1.devices.cohort_store.where) when given, that
    have no row in the rollout yet or a pending one: device_id, firmware_version, status."""
    fragment, params = cohort or ("1", ())
    return await db.all(
        "SELECT d.device_id, d.firmware_version, s.status FROM devices d "
        "LEFT JOIN ota_device_status s ON s.device_id = d.device_id AND s.rollout_id = ? "
        "WHERE d.status = 'active' AND COALESCE(d.model, ?) = ? "
        f"AND (s.status IS NULL OR s.status = 'pending') AND ({fragment}) ORDER BY d.device_id",
        rollout_id,
        default_model,
        model,
        *params,
    )


@dataclass(frozen=True)
class Gates:
    """What a trigger must pass besides its row's state, checked inside the statement that
    marks the row triggered (so racing passes and webhooks cannot exceed them): the rollout's
    triggers per minute (None: no limit) and the device's maintenance window as minutes of
    its local day [start, end) (None: any time; end < start crosses midnight)."""

    per_minute: int | None = None
    window: tuple[int, int] | None = None


NO_LIMIT = 1 << 40
RADAR_DOWN_MS = 60_000  # radar faults with no good report for this long fail a soak
_LOCAL_MINUTE = (
    "((?{n} + COALESCE(d.owner_utc_offset_min, d.utc_offset_min, 0)) % 1440 + 1440) % 1440"
)


def _window(gates: Gates, now_ms: int, first: int) -> tuple[str, tuple[int, ...]]:
    """The window test over devices `d`, its placeholders numbered from `first`."""
    if gates.window is None or gates.window[0] == gates.window[1]:
        return "1", ()
    start, end = gates.window
    minute = _LOCAL_MINUTE.format(n=first)
    joint = "AND" if start < end else "OR"
    sql = f"({minute} >= ?{first + 1} {joint} {minute} < ?{first + 2})"
    return sql, (now_ms // 60_000, start, end)


def _recent_triggers(rollout: str, since: str) -> str:
    return (
        f"(SELECT COUNT(*) FROM ota_device_status g WHERE g.rollout_id = {rollout} "
        f"AND g.triggered_at > {since})"
    )


async def promote_pending(
    db: Database, rollout_id: str, version: str, limit: int, gates: Gates, now_ms: int
) -> list[str]:
    """Mark up to `limit` pending rows of online devices that do not run `version` triggered,
    within the gates, in one statement; the device ids it marked."""
    window, window_params = _window(gates, now_ms, 9)
    rows = await db.all(
        "UPDATE ota_device_status SET status = 'triggered', status_rank = ?1, "
        "triggered_at = ?2, progress_at = ?2, updated_at = ?3, "
        "trigger_count = trigger_count + 1 WHERE rollout_id = ?4 AND status = 'pending' "
        "AND device_id IN (SELECT s.device_id FROM ota_device_status s JOIN devices d "
        "ON d.device_id = s.device_id WHERE s.rollout_id = ?4 AND s.status = 'pending' "
        f"AND d.online = 1 AND d.firmware_version IS NOT ?5 AND {window} "
        f"ORDER BY s.device_id LIMIT MAX(0, MIN(?6, ?7 - {_recent_triggers('?4', '?8')}))) "
        "RETURNING device_id",
        RANK["triggered"], now_ms, iso_ms(now_ms), rollout_id, version, limit,
        gates.per_minute or NO_LIMIT, now_ms - 60_000, *window_params,
    )  # fmt: skip
    return sorted(str(r["device_id"]) for r in rows)


async def cancellable_device_ids(db: Database, rollout_id: str) -> list[str]:
    rows = await db.all(
        "SELECT device_id FROM ota_device_status WHERE rollout_id = ? "
        f"AND status IN ({_marks(len(CANCELLABLE))})",
        rollout_id,
        *CANCELLABLE,
    )
    return [str(r["device_id"]) for r in rows]


async def pending_offer(db: Database, device_id: str, model: str) -> Row | None:
    """The newest live or completed rollout of the model that triggered the device and that it
    has not finished (in progress); the rollout's row. A pending device is offered through
    claim_send, within the rollout's gates."""
    statuses = IN_PROGRESS
    return await db.first(
        "SELECT r.* FROM ota_device_status s JOIN ota_rollouts r ON r.rollout_id = s.rollout_id "
        f"WHERE s.device_id = ? AND r.model = ? AND s.status IN ({_marks(len(statuses))}) "
        "AND r.status IN (?, ?) ORDER BY r.created_at DESC",
        device_id,
        model,
        *statuses,
        ACTIVE,
        COMPLETED,
    )


# --- device status rows: enrolment and triggers ----------------------------------------------


def upsert_status(
    rollout_id: str,
    stage: int,
    device_id: str,
    status: str,
    from_version: str | None,
    now_ms: int,
    error: str | None = None,
    joined_late: bool = False,
) -> Statement:
    """A device's row in the rollout, for a batch: inserted, or moved on from `pending` (a row
    that has moved past pending keeps its status)."""
    triggered = status == "triggered"
    return Statement(
        "INSERT INTO ota_device_status (device_id, rollout_id, status, status_rank, stage, "
        "from_version, error_message, updated_at, triggered_at, progress_at, trigger_count, "
        "joined_late) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (device_id, rollout_id) DO UPDATE "
        "SET status = excluded.status, status_rank = excluded.status_rank, "
        "error_message = excluded.error_message, "
        "from_version = COALESCE(excluded.from_version, ota_device_status.from_version), "
        "updated_at = excluded.updated_at, triggered_at = excluded.triggered_at, "
        "progress_at = excluded.progress_at, "
        "trigger_count = ota_device_status.trigger_count + excluded.trigger_count "
        "WHERE ota_device_status.status = 'pending'",
        (device_id, rollout_id, status, RANK[status], stage, from_version, error, iso_ms(now_ms),
         now_ms if triggered else None, now_ms if triggered else None, int(triggered),
         int(joined_late)),
    )  # fmt: skip


async def write_statuses(
    db: Database, statements: Sequence[Statement], per_batch: int = 50
) -> None:
    """upsert_status statements, `per_batch` to a transaction (D1 bounds a batch's size)."""
    for start in range(0, len(statements), per_batch):
        await db.batch(statements[start : start + per_batch])


def _sendable(s: str = "", cap: str = "?", before: str = "?") -> str:
    """A trigger may be (re)sent to a device row in this state (`s`: the table prefix). Only
    a row still `triggered` is re-sent: a device that reported any progress has moved on."""
    return (
        f"({s}status = 'pending' OR ({s}status = 'triggered' AND {s}trigger_count < {cap} "
        f"AND {s}triggered_at < {before}))"
    )


# ...and never to a device whose `state` already shows the target version (its progress
# reports may still be on their way: EMQX keeps no order between a device's webhooks).
_NOT_INSTALLED = (
    "NOT EXISTS (SELECT 1 FROM devices d JOIN ota_rollouts r ON r.rollout_id = ?2 "
    "WHERE d.device_id = ?1 AND d.firmware_version = r.firmware_version)"
)


async def sendable_for_device(
    db: Database, device_id: str, max_triggers: int, before_ms: int
) -> list[Row]:
    """Active or completed rollouts that owe the device a trigger (pending, or triggered fewer
    than `max_triggers` times, the last before `before_ms`): each rollout's row plus the
    device's device_status, device_triggered_at and device_progress_at."""
    return await db.all(
        "SELECT r.*, s.status AS device_status, s.triggered_at AS device_triggered_at, "
        "s.progress_at AS device_progress_at FROM ota_device_status s JOIN ota_rollouts r "
        f"ON r.rollout_id = s.rollout_id WHERE s.device_id = ? AND {_sendable('s.')} "
        "AND r.status IN (?, ?)",
        device_id,
        max_triggers,
        before_ms,
        ACTIVE,
        COMPLETED,
    )


async def claim_send(
    db: Database,
    rollout_id: str,
    device_id: str,
    max_triggers: int,
    before_ms: int,
    now_ms: int,
    gates: Gates = Gates(),
) -> bool:
    """Mark the row triggered now if it is still sendable and within the gates; of racing
    claims one wins."""
    window, window_params = _window(gates, now_ms, 10)
    result = await db.run(
        "UPDATE ota_device_status SET status = 'triggered', status_rank = ?5, triggered_at = ?6, "
        "progress_at = ?6, updated_at = ?7, trigger_count = trigger_count + 1 "
        f"WHERE device_id = ?1 AND rollout_id = ?2 AND {_sendable('', '?3', '?4')} "
        f"AND {_NOT_INSTALLED} AND {_recent_triggers('?2', '?8')} < ?9 "
        f"AND EXISTS (SELECT 1 FROM devices d WHERE d.device_id = ?1 AND {window})",
        device_id, rollout_id, max_triggers, before_ms, RANK["triggered"], now_ms, iso_ms(now_ms),
        now_ms - 60_000, gates.per_minute or NO_LIMIT, *window_params,
    )  # fmt: skip
    return result.changes == 1


async def release_send(
    db: Database,
    rollout_id: str,
    device_id: str,
    status: str,
    triggered_at: int | None,
    progress_at: int | None,
    claimed_ms: int,
) -> None:
    """Undo this caller's claim_send made at `claimed_ms` (the trigger was not delivered):
    back to the row's earlier status and times, unless something moved it since."""
    await db.run(
        "UPDATE ota_device_status SET status = ?, status_rank = ?, triggered_at = ?, "
        "progress_at = ?, trigger_count = trigger_count - 1 WHERE device_id = ? "
        "AND rollout_id = ? AND status = 'triggered' AND triggered_at = ?",
        status, RANK[status], triggered_at, progress_at, device_id, rollout_id, claimed_ms,
    )  # fmt: skip


async def untrigger(db: Database, rollout_id: str, device_ids: Sequence[str], at_ms: int) -> None:
    """Rows marked triggered at `at_ms` whose trigger was not delivered go back to pending
    (the device gets it when it comes back), unless something moved them since. In chunks:
    D1 binds at most 100 parameters a statement."""
    for start in range(0, len(device_ids), ID_CHUNK):
        chunk = device_ids[start : start + ID_CHUNK]
        await db.run(
            "UPDATE ota_device_status SET status = 'pending', status_rank = ?, "
            "triggered_at = NULL, progress_at = NULL, trigger_count = trigger_count - 1 "
            "WHERE rollout_id = ? AND status = 'triggered' AND triggered_at = ? "
            f"AND device_id IN ({_marks(len(chunk))})",
            RANK["pending"], rollout_id, at_ms, *chunk,
        )  # fmt: skip


# --- device status rows: ends ----------------------------------------------------------------


async def cancel_all(db: Database, rollout_id: str, now_ms: int) -> None:
    """Every device of the rollout that has not started installing is cancelled."""
    await db.run(
        "UPDATE ota_device_status SET status = 'cancelled', status_rank = ?, updated_at = ? "
        f"WHERE rollout_id = ? AND status IN ({_marks(len(CANCELLABLE))})",
        RANK["cancelled"],
        iso_ms(now_ms),
        rollout_id,
        *CANCELLABLE,
    )


async def cancel_devices(
    db: Database, rollout_id: str, device_ids: Sequence[str], now_ms: int
) -> None:
    """cancel_all for these devices only (in chunks: D1 bounds a statement's parameters)."""
    marks = _marks(len(CANCELLABLE))
    for start in range(0, len(device_ids), ID_CHUNK):
        chunk = device_ids[start : start + ID_CHUNK]
        await db.run(
            "UPDATE ota_device_status SET status = 'cancelled', status_rank = ?, updated_at = ? "
            f"WHERE rollout_id = ? AND status IN ({marks}) "
            f"AND device_id IN ({_marks(len(chunk))})",
            RANK["cancelled"], iso_ms(now_ms), rollout_id, *CANCELLABLE, *chunk,
        )  # fmt: skip


async def time_out(
    db: Database, rollout_id: str, before_ms: int, now_ms: int, window_wait_ms: int = 0
) -> int:
    """Devices in progress with no report (nor trigger) since `before_ms` time out; how many.
    A device that reported `downloaded` waits for its install window: `window_wait_ms` more."""
    result = await db.run(
        "UPDATE ota_device_status SET status = 'timed_out', status_rank = ?, updated_at = ?, "
        "error_message = 'no report within timeout' WHERE rollout_id = ? "
        f"AND status IN ({_marks(len(IN_PROGRESS))}) "
        "AND COALESCE(progress_at, triggered_at, 0) "
        "< ? - CASE WHEN status = 'downloaded' THEN ? ELSE 0 END",
        RANK["timed_out"],
        iso_ms(now_ms),
        rollout_id,
        *IN_PROGRESS,
        before_ms,
        window_wait_ms,
    )
    return result.changes


def _soak_start(status: str, at: str, device: str) -> str:
    """SET clauses: a row becoming `success` in a rollout with a soak starts soaking, with the
    device's reboot count as its baseline (rs1.ota.soak). Old values: UPDATE semantics."""
    starts = (
        f"({status}) = 'success' AND status != 'success' AND (SELECT r.soak_ms FROM "
        "ota_rollouts r WHERE r.rollout_id = ota_device_status.rollout_id) > 0"
    )
    return (
        f"soak = CASE WHEN {starts} THEN 'soaking' ELSE soak END, "
        f"soak_started_at = CASE WHEN {starts} THEN {at} ELSE soak_started_at END, "
        f"soak_reboots = CASE WHEN {starts} THEN (SELECT reboots FROM devices "
        f"WHERE device_id = {device}) ELSE soak_reboots END"
    )


# rs1.ota.device_status.accepts(), in SQL (?1 new status, ?2 its rank, ?3 its progress, ?9 the
# final rank); a property test keeps the two equal.
_ACCEPTS = (
    "((status = 'timed_out' AND ?1 IN ('success', 'failed')) "
    "OR (status_rank < ?9 AND status_rank < ?2) "
    "OR (status = 'downloading' AND ?1 = 'downloading' "
    "AND COALESCE(progress, 0) <= COALESCE(?3, 0)))"
)


async def record_report(
    db: Database,
    device_id: str,
    rollout_id: str,
    status: str,
    progress: int | None,
    error: str | None,
    at_ms: int,
) -> bool:
    """Apply a device's report if it moves the row forward; False when it is stale."""
    change = Statement(
        "UPDATE ota_device_status SET status = ?1, status_rank = ?2, progress = ?3, "
        # A late copy of an older report never moves the timeout clock back.
        "error_message = ?4, updated_at = ?5, progress_at = MAX(COALESCE(progress_at, 0), ?6), "
        f"{_soak_start('?1', '?6', '?7')} "
        f"WHERE device_id = ?7 AND rollout_id = ?8 AND {_ACCEPTS}",
        (status, RANK[status], progress, error, iso_ms(at_ms), at_ms, device_id, rollout_id,
         FINAL),
    )  # fmt: skip
    failed = [device_failed_event(device_id, rollout_id, status, error, at_ms)]
    return await run_with_events(db, change, failed if status in FAILURES else []) == 1


# Rows a device that runs the target version has gone through: everything but the ends that
# say it never took part (skipped, cancelled) or already counted (success). A pending row that
# never got a trigger did not take part either: it becomes skipped.
_MAY_CONFIRM = ("pending", *IN_PROGRESS, *FAILURES)
_UNTRIGGERED = "(status = 'pending' AND trigger_count = 0)"


async def confirm_installed(db: Database, device_id: str, version: str, now_ms: int) -> list[str]:
    """The device runs `version`: every rollout to that version it took part in is a success
    (never a failure, also when a re-sent trigger made it answer `already_installed`); a row
    that never got a trigger is skipped, since this rollout did not install it. One statement;
    returns the rollouts whose row became a success."""
    success = f"CASE WHEN {_UNTRIGGERED} THEN 'skipped' ELSE 'success' END"
    rows = await db.all(
        f"UPDATE ota_device_status SET {_soak_start(success, '?', '?')}, "
        f"status = {success}, "
        f"status_rank = CASE WHEN {_UNTRIGGERED} THEN ? ELSE ? END, "
        f"progress = CASE WHEN {_UNTRIGGERED} THEN progress ELSE 100 END, "
        f"error_message = CASE WHEN {_UNTRIGGERED} THEN 'already_installed' END, "
        f"updated_at = ? WHERE device_id = ? AND status IN ({_marks(len(_MAY_CONFIRM))}) "
        "AND rollout_id IN (SELECT rollout_id FROM ota_rollouts WHERE firmware_version = ?) "
        "RETURNING rollout_id, status",
        now_ms, device_id,
        RANK["skipped"], RANK["success"], iso_ms(now_ms), device_id, *_MAY_CONFIRM, version,
    )  # fmt: skip
    return [str(r["rollout_id"]) for r in rows if r["status"] == "success"]


async def live_summaries(db: Database) -> list[Row]:
    """The live (active or paused) rollouts at a glance, oldest first (the fleet overview)."""
    return await db.all(
        "SELECT rollout_id, model, firmware_version, status, current_stage, target_percent "
        f"FROM ota_rollouts WHERE status IN ({_marks(len(LIVE))}) ORDER BY created_at",
        *LIVE,
    )


# --- the outbound events its changes emit (rs1.outbox) ---

_ROLLOUT = "EXISTS (SELECT 1 FROM ota_rollouts WHERE rollout_id = ?"
_ROLLOUT_END = {"aborted": "rollout.aborted", "completed": "rollout.completed"}


def rollout_status_event(rollout_id: str, status: str, reason: str, at_ms: int) -> NewEvent | None:
    kind = _ROLLOUT_END.get(status)
    if kind is None:
        return None  # paused, resumed: no event type
    when = f"{_ROLLOUT} AND status = ?)"
    data = {"rollout_id": rollout_id, "status": status, "reason": reason}
    return NewEvent(kind, f"{rollout_id}:{status}", data, at_ms, when, (rollout_id, status))


def stage_advanced_event(
    rollout_id: str, from_stage: int, to_stage: int, percent: int, reason: str, at_ms: int
) -> NewEvent:
    when = f"{_ROLLOUT} AND current_stage >= ?)"
    data = {
        "rollout_id": rollout_id,
        "from_stage": from_stage,
        "to_stage": to_stage,
        "target_percent": percent,
        "reason": reason,
    }
    key = f"{rollout_id}:{to_stage}"
    return NewEvent("rollout.stage_advanced", key, data, at_ms, when, (rollout_id, to_stage))


def device_failed_event(
    device_id: str, rollout_id: str, status: str, error: str | None, at_ms: int
) -> NewEvent:
    when = (
        "EXISTS (SELECT 1 FROM ota_device_status WHERE device_id = ? AND rollout_id = ? "
        "AND status = ?)"
    )
    data = {"device_id": device_id, "rollout_id": rollout_id, "status": status, "error": error}
    key = f"{device_id}:{rollout_id}"
    params = (device_id, rollout_id, status)
    return NewEvent("ota.device_failed", key, data, at_ms, when, params)


# --- the soak after an install (rs1.ota.soak decides when; the rows move here) ---------------


async def fail_soaks(
    db: Database,
    rollout_id: str,
    now_ms: int,
    *,
    max_reboots: int,
    silence_ms: int,
    radar_errors: bool,
) -> list[Row]:
    """Soaking devices that rebooted more than `max_reboots` times, sent no telemetry for
    `silence_ms`, or (radar_errors) whose radar has reported only faults for RADAR_DOWN_MS
    since their soak began (a one-off fault among good reports is noise): their soak fails,
    in one statement. device_id and soak_error of each."""
    rebooted = "d.reboots - COALESCE(s.soak_reboots, d.reboots) > ?3"
    radar = (
        "(?4 AND COALESCE(d.radar_error_at, 0) > MAX(s.soak_started_at, ?5 - ?7) "
        "AND COALESCE(d.radar_ok_at, 0) < ?5 - ?7)"
    )
    silent = "?5 - MAX(COALESCE(d.telemetry_at, 0), s.soak_started_at) > ?6"
    return await db.all(
        "UPDATE ota_device_status AS s SET soak = 'failed', updated_at = ?2, soak_error = "
        f"CASE WHEN {rebooted} THEN 'reboot_loop' WHEN {radar} THEN 'radar_error' "
        "ELSE 'telemetry_silent' END FROM devices d WHERE d.device_id = s.device_id "
        f"AND s.rollout_id = ?1 AND s.soak = 'soaking' AND ({rebooted} OR {radar} OR {silent}) "
        "RETURNING device_id, soak_error",
        rollout_id, iso_ms(now_ms), max_reboots, int(radar_errors), now_ms, silence_ms,
        RADAR_DOWN_MS,
    )  # fmt: skip


async def pass_soaks(db: Database, rollout_id: str, soak_ms: int, now_ms: int) -> int:
    """Soaking devices whose soak has lasted `soak_ms` pass it; how many."""
    result = await db.run(
        "UPDATE ota_device_status SET soak = 'passed', updated_at = ? WHERE rollout_id = ? "
        "AND soak = 'soaking' AND soak_started_at <= ?",
        iso_ms(now_ms),
        rollout_id,
        now_ms - soak_ms,
    )
    return result.changes


async def extend_cohort(
    db: Database, rollout_id: str, stage: int, from_percent: float, to_percent: float, now_ms: int
) -> bool:
    """Compare-and-set: an inconclusive stage takes more of the fleet; one of racing callers."""
    reason = f"inconclusive: cohort extended to {to_percent:g}%"
    result = await db.run(
        "UPDATE ota_rollouts SET cohort_percent = ?, status_reason = ?, updated_at = ?, "
        "stage_started_at = ? WHERE rollout_id = ? AND current_stage = ? "
        "AND cohort_percent = ? AND status = ?",
        to_percent, reason, now_ms, now_ms, rollout_id, stage, from_percent, ACTIVE,
    )  # fmt: skip
    return result.changes == 1


# --- rollback after an abort ------------------------------------------------------------------


async def installed_from(db: Database, rollout_id: str) -> list[Row]:
    """Devices that installed this rollout's version (soaking or not): device_id and the
    from_version they ran before."""
    return await db.all(
        "SELECT device_id, from_version FROM ota_device_status WHERE rollout_id = ? "
        "AND status = 'success' AND from_version IS NOT NULL ORDER BY device_id",
        rollout_id,
    )


async def mark_rolled_back(
    db: Database, rollout_id: str, device_ids: Sequence[str], rollback_rollout_id: str,
    version: str,
) -> None:  # fmt: skip
    """Record the rollback: on the aborted rollout, and its rows offered the old version."""
    statements = [
        Statement(
            "UPDATE ota_rollouts SET rollback_version = ?, rollback_rollout_id = ? "
            "WHERE rollout_id = ?",
            (version, rollback_rollout_id, rollout_id),
        )
    ]
    for start in range(0, len(device_ids), ID_CHUNK):
        chunk = device_ids[start : start + ID_CHUNK]
        statements.append(
            Statement(
                "UPDATE ota_device_status SET rolled_back = 1 WHERE rollout_id = ? "
                f"AND device_id IN ({_marks(len(chunk))})",
                (rollout_id, *chunk),
            )
        )
    await db.batch(statements)
