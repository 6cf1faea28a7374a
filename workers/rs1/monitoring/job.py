"""The 5-minute monitoring job: measure, evaluate the spec's thresholds, open/resolve alerts,
and POST transitions to ALERT_WEBHOOK_URL when one is configured."""

import json

from rs1.logs import log_event
from rs1.monitoring import checks, store
from rs1.monitoring.checks import Finding
from rs1.services import Services
from rs1.storage.database import Database
from rs1.storage.shards import Shards
from rs1.timefmt import utc_now_iso

WINDOW_MS = 5 * 60 * 1000
TRAILING_WINDOWS = 12
ACTIVE_ROLLOUTS = ("active", "running", "paused")


async def _ingest_windows(shards: Shards, start_ms: int, now_ms: int) -> dict[int, int]:
    """Messages received per window, summed over the telemetry shards."""
    parts = await shards.each(lambda db: store.telemetry_windows(db, start_ms, WINDOW_MS, now_ms))
    total: dict[int, int] = {}
    for part in parts:
        for window, count in part.items():
            total[window] = total.get(window, 0) + count
    return total


async def _findings(db: Database, shards: Shards, now_ms: int) -> list[Finding]:
    found = [checks.online_ratio(*await store.active_device_counts(db))]
    rollouts = await store.rollout_outcomes(db, ACTIVE_ROLLOUTS)
    found += [checks.ota_failure_rate(*r) for r in rollouts]
    start = now_ms - WINDOW_MS * (TRAILING_WINDOWS + 1)
    counts = await _ingest_windows(shards, start, now_ms)
    trailing = [counts.get(i, 0) for i in range(TRAILING_WINDOWS)]
    found.append(checks.ingest_deviation(counts.get(TRAILING_WINDOWS, 0), trailing))
    requests, errors = await store.api_totals(db, (now_ms - WINDOW_MS) // 60_000)
    found.append(checks.api_error_rate(requests, errors))
    return found


async def _apply(db: Database, finding: Finding, now: str) -> str | None:
    """Upsert the alert; returns 'opened' / 'resolved' on a transition. Each transition is
    decided by the statement that makes it, so two overlapping runs report it once."""
    if not finding.firing:
        resolved = await store.resolve_alert(db, finding.alert_id, finding.message,
                                             finding.value, now)  # fmt: skip
        return "resolved" if resolved else None
    if await store.refresh_open_alert(db, finding.alert_id, finding.message, finding.value, now):
        return None
    return "opened" if await store.open_alert(db, finding, now) else None


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
    findings = await _findings(svc.db, svc.telemetry_shards, now_ms)
    for finding in findings:
        transition = await _apply(svc.db, finding, now)
        if transition:
            log_event("warning", f"alert_{transition}", alert_id=finding.alert_id,
                      message=finding.message)  # fmt: skip
            await _notify(svc, finding, transition)
    return findings
