"""The 5-minute monitoring job: measure, evaluate the spec's thresholds, open/resolve alerts,
and POST transitions to ALERT_WEBHOOK_URL when one is configured."""

import json

from rs1.logs import log_event
from rs1.monitoring import checks
from rs1.monitoring.checks import Finding
from rs1.services import Services
from rs1.storage.database import Database
from rs1.timefmt import utc_now_iso

WINDOW_MS = 5 * 60 * 1000
TRAILING_WINDOWS = 12
ACTIVE_ROLLOUTS = ("active", "running", "paused")


async def _findings(db: Database, now_ms: int) -> list[Finding]:
    devices = await db.first(
        "SELECT COUNT(*) AS n, COALESCE(SUM(online), 0) AS up FROM devices WHERE status = 'active'"
    )
    found = [checks.online_ratio(int(devices["n"]), int(devices["up"]))]
    marks = ",".join("?" * len(ACTIVE_ROLLOUTS))
    rollouts = await db.all(
        "SELECT r.rollout_id, "
        "SUM(s.status IN ('failed', 'timed_out')) AS failed, "
        "SUM(s.status IN ('success', 'failed', 'timed_out')) AS finished "
        "FROM ota_rollouts r LEFT JOIN ota_device_status s ON s.rollout_id = r.rollout_id "
        f"WHERE r.status IN ({marks}) GROUP BY r.rollout_id",
        *ACTIVE_ROLLOUTS,
    )
    found += [
        checks.ota_failure_rate(r["rollout_id"], int(r["failed"] or 0), int(r["finished"] or 0))
        for r in rollouts
    ]
    start = now_ms - WINDOW_MS * (TRAILING_WINDOWS + 1)
    windows = await db.all(
        "SELECT (received_at - ?) / ? AS w, COUNT(*) AS n FROM telemetry_raw "
        "WHERE received_at >= ? AND received_at < ? GROUP BY w",
        start,
        WINDOW_MS,
        start,
        now_ms,
    )
    counts = {int(w["w"]): int(w["n"]) for w in windows}
    trailing = [counts.get(i, 0) for i in range(TRAILING_WINDOWS)]
    found.append(checks.ingest_deviation(counts.get(TRAILING_WINDOWS, 0), trailing))
    api = await db.first(
        "SELECT COALESCE(SUM(requests), 0) AS r, COALESCE(SUM(errors), 0) AS e FROM api_stats "
        "WHERE minute >= ?",
        (now_ms - WINDOW_MS) // 60_000,
    )
    found.append(checks.api_error_rate(int(api["r"]), int(api["e"])))
    return found


async def _apply(db: Database, finding: Finding, now: str) -> str | None:
    """Upsert the alert; returns 'opened' / 'resolved' on a transition. Each transition is
    decided by the statement that makes it, so two overlapping runs report it once."""
    if not finding.firing:
        resolved = await db.run(
            "UPDATE alerts SET status = 'resolved', message = ?, value = ?, updated_at = ?, "
            "resolved_at = ? WHERE alert_id = ? AND status = 'open'",
            finding.message, finding.value, now, now, finding.alert_id,
        )  # fmt: skip
        return "resolved" if resolved.changes else None
    still_open = await db.run(
        "UPDATE alerts SET message = ?, value = ?, updated_at = ? "
        "WHERE alert_id = ? AND status = 'open'",
        finding.message, finding.value, now, finding.alert_id,
    )  # fmt: skip
    if still_open.changes:
        return None
    opened = await db.run(
        "INSERT INTO alerts (alert_id, kind, subject, status, message, value, threshold, "
        "opened_at, updated_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?) "
        "ON CONFLICT (alert_id) DO UPDATE SET status = 'open', message = excluded.message, "
        "value = excluded.value, updated_at = excluded.updated_at, resolved_at = NULL, "
        "opened_at = excluded.opened_at WHERE alerts.status <> 'open'",
        finding.alert_id, finding.kind, finding.subject, finding.message,
        finding.value, finding.threshold, now, now,
    )  # fmt: skip
    return "opened" if opened.changes else None


async def _notify(svc: Services, finding: Finding, transition: str) -> None:
    url = svc.settings.alert_webhook_url
    if not url or svc.http is None:
        return
    body = {
        "alert_id": finding.alert_id,
        "kind": finding.kind,
        "state": transition,
        "message": finding.message,
        "value": finding.value,
        "threshold": finding.threshold,
    }
    try:
        result = await svc.http.request(
            "POST", url, {"content-type": "application/json"}, json.dumps(body).encode()
        )
        if result.status >= 400:
            log_event("warning", "alert_webhook_failed", status=result.status)
    except Exception as exc:  # noqa: BLE001 — the alert is stored; delivery is best effort
        log_event("warning", "alert_webhook_failed", exception=repr(exc))


async def run_monitoring(svc: Services, now_ms: int) -> list[Finding]:
    now = utc_now_iso()
    findings = await _findings(svc.db, now_ms)
    for finding in findings:
        transition = await _apply(svc.db, finding, now)
        if transition:
            log_event("warning", f"alert_{transition}", alert_id=finding.alert_id,
                      message=finding.message)  # fmt: skip
            await _notify(svc, finding, transition)
    return findings
