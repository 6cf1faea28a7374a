"""GET /admin/fleet — the fleet at a glance (spec admin API)."""

from rs1.auth.caller import Caller
from rs1.devices import store as devices
from rs1.messages import ApiRequest, ApiResponse, json_response
from rs1.monitoring import store as monitoring
from rs1.ota import rollout_store
from rs1.services import Services
from rs1.telemetry import store as telemetry_store


async def fleet_overview(request: ApiRequest, svc: Services, *, caller: Caller) -> ApiResponse:
    db = svc.db
    totals = await devices.fleet_totals(db)
    versions = await devices.firmware_versions(db)
    rollouts = await rollout_store.live_summaries(db)
    open_alerts = await monitoring.open_alert_count(db)
    security = await monitoring.security_event_counts(db)
    telemetry_rows = await telemetry_store.row_count(svc.telemetry_shards)  # every shard
    active = int(totals["registered"]) - int(totals["revoked"])
    return json_response(
        {
            "devices": {**totals, "online_ratio": (totals["online"] / active) if active else None},
            "firmware_versions": versions,
            "active_rollouts": rollouts,
            "open_alerts": open_alerts,
            "security_events": security,
            "telemetry_rows": telemetry_rows,
        }
    )
