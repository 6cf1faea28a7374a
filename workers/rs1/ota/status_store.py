"""A device's OTA status rows (ota_device_status): the transitions webhooks make.

EMQX 5 delivers a device's connect event, `state` and `ota/status` in no particular order, and
production runs them at once in several isolates. So each transition is one conditional
statement: the database, not a read made a moment earlier, decides whether it applies. A report
never moves a device backwards, and a device that runs the rollout's version is a success
whatever order its messages arrive in.
"""

from typing import Any

from rs1.ota.device_status import RANK
from rs1.storage.database import Database
from rs1.timefmt import iso_ms

# rs1.ota.device_status.accepts(), in SQL (?1 new status, ?2 its rank, ?3 its progress); a
# property test keeps the two equal.
_ACCEPTS = (
    "((status = 'timed_out' AND ?1 IN ('success', 'failed')) "
    "OR (status_rank < 9 AND status_rank < ?2) "
    "OR (status = 'downloading' AND ?1 = 'downloading' "
    "AND COALESCE(progress, 0) < COALESCE(?3, 0)))"
)
# Rows a device that runs the target version has gone through: everything but the ends that
# say it never took part (skipped, cancelled) or already counted (success). A pending row that
# never got a trigger did not take part either: it becomes skipped.
_MAY_CONFIRM = (
    "status IN ('pending', 'triggered', 'downloading', 'verifying', 'installing', 'rebooting', "
    "'timed_out', 'failed')"
)
_UNTRIGGERED = "(status = 'pending' AND trigger_count = 0)"


async def get(db: Database, device_id: str, rollout_id: str) -> dict[str, Any] | None:
    return await db.first(
        "SELECT status, progress FROM ota_device_status WHERE device_id = ? AND rollout_id = ?",
        device_id,
        rollout_id,
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
    result = await db.run(
        "UPDATE ota_device_status SET status = ?1, status_rank = ?2, progress = ?3, "
        "error_message = ?4, updated_at = ?5, progress_at = ?6 "
        f"WHERE device_id = ?7 AND rollout_id = ?8 AND {_ACCEPTS}",
        status, RANK[status], progress, error, iso_ms(at_ms), at_ms, device_id, rollout_id,
    )  # fmt: skip
    return result.changes == 1


async def confirm_installed(db: Database, device_id: str, version: str, now_ms: int) -> list[str]:
    """The device runs `version`: every rollout to that version it took part in is a success
    (never a failure, also when a re-sent trigger made it answer `already_installed`); a row
    that never got a trigger is skipped, since this rollout did not install it. One statement;
    returns the rollouts whose row became a success."""
    rows = await db.all(
        f"UPDATE ota_device_status SET "
        f"status = CASE WHEN {_UNTRIGGERED} THEN 'skipped' ELSE 'success' END, status_rank = 9, "
        f"progress = CASE WHEN {_UNTRIGGERED} THEN progress ELSE 100 END, "
        f"error_message = CASE WHEN {_UNTRIGGERED} THEN 'already_installed' END, "
        f"updated_at = ? WHERE device_id = ? AND {_MAY_CONFIRM} AND rollout_id IN "
        "(SELECT rollout_id FROM ota_rollouts WHERE firmware_version = ?) "
        "RETURNING rollout_id, status",
        iso_ms(now_ms), device_id, version,
    )  # fmt: skip
    return [str(r["rollout_id"]) for r in rows if r["status"] == "success"]
