"""rs1-device-api: the zone editor's device API (/api/*) and the ops admin API (/admin/*)."""

from rs1.admin import alerts as admin_alerts
from rs1.admin import devices as admin_devices
from rs1.admin import diagnostics as admin_diag
from rs1.admin import firmware as admin_firmware
from rs1.admin import rollouts as admin_rollouts
from rs1.admin import sessions as admin_sessions
from rs1.admin.fleet import fleet_overview
from rs1.api import devices as api_devices
from rs1.api import sessions as api_sessions
from rs1.api import telemetry as api_telemetry
from rs1.api import zones as api_zones
from rs1.api.claim import claim_device
from rs1.health import health_handler
from rs1.http.app import App
from rs1.http.rate_limit import RateLimit
from rs1.http.router import Router
from rs1.http.web import decorate, preflight

WORKER = "rs1-device-api"


def build_app() -> App:
    router = Router()
    health = health_handler(WORKER)
    router.add("GET", "/health", health)
    router.add("GET", "/api/health", health)  # production routes only /api/* and /admin/*
    router.add("GET", "/api/devices/{device_id}/telemetry", api_telemetry.device_telemetry)
    router.add("GET", "/api/auth/session", api_sessions.current_session)
    router.add("POST", "/api/auth/logout", api_sessions.logout)
    router.add("POST", "/api/devices/claim", claim_device)
    router.add("GET", "/api/devices", api_devices.list_devices)
    router.add("GET", "/api/devices/{device_id}", api_devices.get_device)
    router.add("POST", "/api/devices/{device_id}/share", api_devices.share_device)
    router.add("DELETE", "/api/devices/{device_id}/share/{user_id}", api_devices.unshare_device)
    router.add("GET", "/api/devices/{device_id}/zones", api_zones.get_zones)
    router.add("PUT", "/api/devices/{device_id}/zones", api_zones.put_zones)
    router.add("POST", "/api/devices/{device_id}/zones/rollback", api_zones.rollback_zones)
    router.add("GET", "/admin/alerts", admin_alerts.list_alerts)
    router.add("GET", "/admin/fleet", fleet_overview)
    router.add("GET", "/admin/firmware", admin_firmware.list_firmware)
    router.add("PUT", "/admin/firmware/{model}/{version}", admin_firmware.upload_firmware)
    router.add("GET", "/admin/rollouts", admin_rollouts.list_rollouts)
    router.add("POST", "/admin/rollouts", admin_rollouts.create_rollout)
    router.add("GET", "/admin/rollouts/{rollout_id}", admin_rollouts.get_rollout)
    for action in ("abort", "pause", "resume", "advance"):
        handler = getattr(admin_rollouts, f"{action}_rollout")
        router.add("POST", f"/admin/rollouts/{{rollout_id}}/{action}", handler)
    router.add("POST", "/admin/sessions", admin_sessions.create_session)
    router.add("DELETE", "/admin/sessions/{jti}", admin_sessions.revoke_session)
    router.add("GET", "/admin/devices", admin_diag.list_devices)
    router.add("POST", "/admin/devices", admin_devices.enroll_device)
    router.add("POST", "/admin/devices/{device_id}/diag", admin_diag.request_diag)
    router.add("GET", "/admin/devices/{device_id}/diag/{request_id}", admin_diag.get_diag)
    router.add("POST", "/admin/devices:batch", admin_devices.enroll_batch)
    router.add("GET", "/admin/devices/{device_id}", admin_devices.get_device)
    router.add("POST", "/admin/devices/{device_id}/revoke", admin_devices.revoke_device)
    router.add("POST", "/admin/devices/{device_id}/enable", admin_devices.enable_device)
    return App(WORKER, router, before=[preflight, RateLimit()], after=[decorate])


app = build_app()
