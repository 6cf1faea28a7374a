"""GET /admin/fleet — the fleet at a glance (spec admin API)."""

from rs1.admin.auth import require_admin
from rs1.http.messages import ApiRequest, ApiResponse, json_response
from rs1.services import Services


async def fleet_overview(request: ApiRequest, svc: Services) -> ApiResponse:
    await require_admin(request, svc)
    db = svc.db
    totals = await db.first(
        "SELECT COUNT(*) AS registered, COALESCE(SUM(online), 0) AS online, "
        "COALESCE(SUM(status = 'revoked'), 0) AS revoked FROM devices"
    )
    versions = await db.all(
        "SELECT COALESCE(firmware_version, 'unknown') AS version, COUNT(*) AS devices, "
        "COALESCE(SUM(online), 0) AS online FROM devices WHERE status = 'active' "
        "GROUP BY version ORDER BY devices DESC"
    )
    rollouts = await db.all(
        "SELECT rollout_id, model, firmware_version, status, current_stage, target_percent "
        "FROM ota_rollouts WHERE status IN ('active', 'paused') ORDER BY created_at"
    )
    alerts = await db.first("SELECT COUNT(*) AS n FROM alerts WHERE status = 'open'")
    security = await db.all(
        "SELECT event_type, COUNT(*) AS n FROM security_log GROUP BY event_type ORDER BY n DESC"
    )
    telemetry = await db.first("SELECT COUNT(*) AS n FROM telemetry_raw")
    active = int(totals["registered"]) - int(totals["revoked"])
    return json_response(
        {
            "devices": {**totals, "online_ratio": (totals["online"] / active) if active else None},
            "firmware_versions": versions,
            "active_rollouts": rollouts,
            "open_alerts": alerts["n"],
            "security_events": {r["event_type"]: r["n"] for r in security},
            "telemetry_rows": telemetry["n"],
        }
    )
